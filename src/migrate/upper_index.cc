// The upper-index format: the 8 bytes "DMUPIDX" and version 1, then records, each led by
// a one-byte tag:
//   'D'  u32 length, path                                          a deleted path
//   'P'  u32 length, path, u32 mode, u32 uid, u32 gid, i64 mtime_ns  a file sent as a delta
//   'L'  u32 length, path, u32 st_mode, u32 uid, u32 gid, u64 size, i64 mtime_ns
//                                                                 an entry of a listing
//   'E'  the end; nothing may follow
// Integers are big-endian, as in the frame header. Lengths, not separators, delimit the
// paths, so a path may hold any byte but NUL, which no Linux path holds.
#include "migrate/upper_index.h"

#include <climits>
#include <string_view>

namespace dockmig::migrate {
namespace {

constexpr std::string_view kMagic("DMUPIDX\x01", 8);
constexpr size_t kMaxPath = PATH_MAX;
constexpr size_t kFlushBytes = 64 * 1024;
constexpr size_t kDeltaFieldsBytes = 4 + 4 + 4 + 8;
constexpr size_t kListedFieldsBytes = 4 + 4 + 4 + 8 + 8;

Error malformed(const std::string& why) {
  return make_error(ErrorCode::InvalidInput, "protocol: the `upper-index` blob " + why,
                    "the peer is not a dockmig source of this version; nothing of the layer's changes was applied");
}

// A path as it can be shown in an error: control bytes and bytes that are not ASCII as
// \xNN, and no longer than a line or two.
std::string shown(std::string_view path) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr size_t kShownBytes = 160;
  std::string text;
  for (char c : path.substr(0, kShownBytes)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      text += c;
    } else {
      text += "\\x";
      text += kHex[byte >> 4];
      text += kHex[byte & 0xf];
    }
  }
  if (path.size() > kShownBytes) text += "...";
  return text;
}

// Why `path` may not name an entry of the layer, or "" when it may.
std::string path_problem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.find('\0') != std::string_view::npos) return "holds a NUL byte";
  if (path.front() == '/') return "is absolute";
  for (size_t start = 0; start <= path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string_view component = path.substr(start, slash - start);
    if (component == "..") return "climbs out of the container's layer";
    if (component.empty() || component == ".") return "is not a plain relative path";
    start = slash + 1;
  }
  return "";
}

class IndexWriter {
 public:
  explicit IndexWriter(transfer::ByteSink& out) : out_(out) { buffer_ += kMagic; }

  Status put_path(char tag, const std::string& path) {
    if (path.size() > kMaxPath)
      return make_error(ErrorCode::InvalidInput, "the path `" + shown(path) +
                                                     "` of the writable layer is longer than " +
                                                     std::to_string(kMaxPath) + " bytes");
    buffer_ += tag;
    put_u32(static_cast<uint32_t>(path.size()));
    buffer_ += path;
    return {};
  }
  void put_u32(uint32_t value) { put_big_endian(value, 4); }
  void put_u64(uint64_t value) { put_big_endian(value, 8); }

  Status end_record() { return buffer_.size() < kFlushBytes ? Status() : flush(); }
  Status finish() {
    buffer_ += 'E';
    Status flushed = flush();
    if (!flushed) return flushed;
    return out_.finish();
  }

 private:
  void put_big_endian(uint64_t value, int bytes) {
    for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) buffer_ += static_cast<char>(value >> shift);
  }
  Status flush() {
    Status written = out_.write(std::as_bytes(std::span(buffer_.data(), buffer_.size())));
    buffer_.clear();
    return written;
  }

  transfer::ByteSink& out_;
  std::string buffer_;
};

uint64_t big_endian(std::string_view bytes) {
  uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
  return value;
}

// Hands out the stream's bytes a record field at a time, reading ahead in chunks.
class IndexReader {
 public:
  explicit IndexReader(transfer::ByteSource& in) : in_(in) {}

  /// The next `size` bytes, valid until the next call; an error if the stream ends first.
  Result<std::string_view> next(size_t size) {
    Result<size_t> available = fill(size);
    if (!available) return std::move(available.error());
    if (*available < size) return malformed("is cut short (it lacks its end record)");
    std::string_view bytes = std::string_view(buffer_).substr(position_, size);
    position_ += size;
    return bytes;
  }
  Result<uint32_t> next_u32() {
    Result<std::string_view> bytes = next(4);
    if (!bytes) return std::move(bytes.error());
    return static_cast<uint32_t>(big_endian(*bytes));
  }
  Result<bool> at_end() {
    Result<size_t> available = fill(1);
    if (!available) return std::move(available.error());
    return *available == 0;
  }

 private:
  // Makes at least `size` bytes available if the stream holds them; returns how many are.
  Result<size_t> fill(size_t size) {
    if (buffer_.size() - position_ >= size) return buffer_.size() - position_;
    buffer_.erase(0, position_);
    position_ = 0;
    std::byte chunk[16 * 1024];
    while (buffer_.size() < size) {
      Result<size_t> got = in_.read(chunk);
      if (!got) return std::move(got.error());
      if (*got == 0) break;
      buffer_.append(reinterpret_cast<const char*>(chunk), *got);
    }
    return buffer_.size();
  }

  transfer::ByteSource& in_;
  std::string buffer_;
  size_t position_ = 0;
};

Result<std::string> read_path(IndexReader& reader) {
  Result<uint32_t> size = reader.next_u32();
  if (!size) return std::move(size.error());
  if (*size > kMaxPath) return malformed("names a path of " + std::to_string(*size) + " bytes (PATH_MAX is " +
                                         std::to_string(kMaxPath) + ")");
  Result<std::string_view> bytes = reader.next(*size);
  if (!bytes) return std::move(bytes.error());
  std::string path(*bytes);
  if (std::string problem = path_problem(path); !problem.empty())
    return malformed("names the path `" + shown(path) + "`, which " + problem);
  return path;
}

Result<DeltaEntry> read_delta(IndexReader& reader) {
  Result<std::string> path = read_path(reader);
  if (!path) return std::move(path.error());
  Result<std::string_view> fields = reader.next(kDeltaFieldsBytes);
  if (!fields) return std::move(fields.error());
  DeltaEntry entry{std::move(*path), static_cast<uint32_t>(big_endian(fields->substr(0, 4))),
                   static_cast<uint32_t>(big_endian(fields->substr(4, 4))),
                   static_cast<uint32_t>(big_endian(fields->substr(8, 4))),
                   static_cast<int64_t>(big_endian(fields->substr(12, 8)))};
  if (entry.mode > 07777)
    return malformed("gives the delta of `" + shown(entry.path) + "` the mode " + std::to_string(entry.mode) +
                     " (at most 07777)");
  return entry;
}

Status read_listed(IndexReader& reader, UpperIndex& index) {
  Result<std::string> path = read_path(reader);
  if (!path) return std::move(path.error());
  Result<std::string_view> fields = reader.next(kListedFieldsBytes);
  if (!fields) return std::move(fields.error());
  layers::EntryStamp stamp;
  stamp.mode = static_cast<uint32_t>(big_endian(fields->substr(0, 4)));
  stamp.uid = static_cast<uint32_t>(big_endian(fields->substr(4, 4)));
  stamp.gid = static_cast<uint32_t>(big_endian(fields->substr(8, 4)));
  stamp.size = big_endian(fields->substr(12, 8));
  stamp.mtime_ns = static_cast<int64_t>(big_endian(fields->substr(20, 8)));
  if (!index.listed.entries.emplace(std::move(*path), stamp).second) return malformed("lists a path twice");
  return {};
}

// Reads the record after `tag` into `index`.
Status read_record(char tag, IndexReader& reader, UpperIndex& index) {
  if (tag == 'L') return read_listed(reader, index);
  if (tag == 'D') {
    Result<std::string> path = read_path(reader);
    if (!path) return std::move(path.error());
    index.deleted.push_back(std::move(*path));
    return {};
  }
  if (tag == 'P') {
    Result<DeltaEntry> entry = read_delta(reader);
    if (!entry) return std::move(entry.error());
    index.deltas.push_back(std::move(*entry));
    return {};
  }
  return malformed("has a record of the unknown kind `" + shown(std::string_view(&tag, 1)) + "`");
}

}  // namespace

Status write_upper_index(const UpperIndex& index, transfer::ByteSink& out) {
  IndexWriter writer(out);
  for (const std::string& path : index.deleted) {
    Status written = writer.put_path('D', path);
    if (written) written = writer.end_record();
    if (!written) return written;
  }
  for (const DeltaEntry& entry : index.deltas) {
    Status written = writer.put_path('P', entry.path);
    if (!written) return written;
    writer.put_u32(entry.mode);
    writer.put_u32(entry.uid);
    writer.put_u32(entry.gid);
    writer.put_u64(static_cast<uint64_t>(entry.mtime_ns));
    if (Status flushed = writer.end_record(); !flushed) return flushed;
  }
  for (const auto& [path, stamp] : index.listed.entries) {
    Status written = writer.put_path('L', path);
    if (!written) return written;
    writer.put_u32(stamp.mode);
    writer.put_u32(stamp.uid);
    writer.put_u32(stamp.gid);
    writer.put_u64(stamp.size);
    writer.put_u64(static_cast<uint64_t>(stamp.mtime_ns));
    if (Status flushed = writer.end_record(); !flushed) return flushed;
  }
  return writer.finish();
}

layers::UpperSnapshot listing_of(const layers::UpperSnapshot& snapshot) {
  layers::UpperSnapshot listing;
  for (const auto& [path, stamp] : snapshot.entries)
    listing.entries.emplace(path, layers::EntryStamp{stamp.mode, stamp.uid, stamp.gid, stamp.size, stamp.mtime_ns, 0, 0});
  return listing;
}

Result<UpperIndex> read_upper_index(transfer::ByteSource& in) {
  IndexReader reader(in);
  Result<std::string_view> magic = reader.next(kMagic.size());
  if (!magic) return std::move(magic.error());
  if (*magic != kMagic) return malformed("does not start with the upper-index magic and version 1");
  UpperIndex index;
  for (;;) {
    Result<std::string_view> tag = reader.next(1);
    if (!tag) return std::move(tag.error());
    if (tag->front() == 'E') break;
    if (Status read = read_record(tag->front(), reader, index); !read) return std::move(read.error());
  }
  Result<bool> ended = reader.at_end();
  if (!ended) return std::move(ended.error());
  if (!*ended) return malformed("goes on after its end record");
  return index;
}

}  // namespace dockmig::migrate
