// Reads the stats images CRIU writes after a dump or a restore (write_stats in criu/stats.c):
// IMG_SERVICE_MAGIC and STATS_MAGIC as little-endian u32s, then one entry: a u32 length and
// a protobuf StatsEntry (images/stats.proto). The protobuf wire format is decoded by hand
// rather than pulling in libprotobuf for two messages of integers.
#include "checkpoint/criu_stats.h"

#include <array>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace dockmig::checkpoint {
namespace {

constexpr uint32_t kServiceMagic = 0x55105940;  // IMG_SERVICE_MAGIC, criu/include/magic.h
constexpr uint32_t kStatsMagic = 0x57093306;    // STATS_MAGIC
constexpr size_t kMaxImageSize = 64 * 1024;     // CRIU's are ~50 bytes
constexpr uint64_t kMaxFieldNumber = (1u << 29) - 1;
constexpr int kMaxGroupDepth = 32;

// Field numbers of images/stats.proto.
enum EntryField { kDumpEntry = 1, kRestoreEntry = 2 };
enum DumpField {
  kFreezingTime = 1, kFrozenTime = 2, kMemdumpTime = 3, kMemwriteTime = 4,
  kPagesScanned = 5, kPagesWritten = 7, kLastDumpField = 14,
};
enum RestoreField { kForkingTime = 3, kRestoreTime = 4, kPagesRestored = 5, kLastRestoreField = 5 };

enum WireType { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

Error malformed(const std::string& what) { return make_error(ErrorCode::InvalidInput, what); }

Error truncated(const std::string& what, uint64_t wanted, size_t left) {
  return malformed("truncated: " + what + " needs " + std::to_string(wanted) + " bytes, " +
                   std::to_string(left) + " are left");
}

std::string hex(uint32_t value) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += kDigits[(value >> shift) & 0xf];
  return text;
}

/// A cursor over bytes that never reads past their end.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  bool at_end() const { return bytes_.empty(); }
  size_t left() const { return bytes_.size(); }

  Result<std::span<const std::byte>> take(uint64_t count, const std::string& what) {
    if (count > bytes_.size()) return truncated(what, count, bytes_.size());
    std::span<const std::byte> taken = bytes_.first(count);
    bytes_ = bytes_.subspan(count);
    return taken;
  }

  Result<uint32_t> u32_le(const std::string& what) {
    Result<std::span<const std::byte>> bytes = take(4, what);
    if (!bytes) return std::move(bytes.error());
    uint32_t value = 0;
    for (size_t i = 4; i-- > 0;) value = (value << 8) | std::to_integer<uint32_t>((*bytes)[i]);
    return value;
  }

  Result<uint64_t> varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (bytes_.empty()) return malformed("truncated: a varint runs past the end");
      auto byte = std::to_integer<uint64_t>(bytes_.front());
      bytes_ = bytes_.subspan(1);
      value |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    return malformed("a varint longer than 10 bytes");
  }

 private:
  std::span<const std::byte> bytes_;
};

struct Field {
  uint64_t number = 0;
  int wire_type = kVarint;
  uint64_t varint = 0;                 // for kVarint
  std::span<const std::byte> payload;  // for kLen
};

/// Reads one field with its value. A group is read to its end and returned as skipped;
/// an end-of-group key is returned for the enclosing group to check.
Result<Field> read_field(Reader& in, int depth) {
  Result<uint64_t> key = in.varint();
  if (!key) return std::move(key.error());
  Field field;
  field.number = *key >> 3;
  field.wire_type = static_cast<int>(*key & 7);
  std::string name = "field " + std::to_string(field.number);
  if (field.number == 0 || field.number > kMaxFieldNumber) return malformed("invalid protobuf " + name);
  switch (field.wire_type) {
    case kVarint: {
      Result<uint64_t> value = in.varint();
      if (!value) return std::move(value.error());
      field.varint = *value;
      return field;
    }
    case kLen: {
      Result<uint64_t> length = in.varint();
      if (!length) return std::move(length.error());
      Result<std::span<const std::byte>> payload = in.take(*length, name);
      if (!payload) return std::move(payload.error());
      field.payload = *payload;
      return field;
    }
    case kFixed64:
    case kFixed32: {
      Result<std::span<const std::byte>> value = in.take(field.wire_type == kFixed64 ? 8 : 4, name);
      if (!value) return std::move(value.error());
      return field;
    }
    case kStartGroup:
      if (depth >= kMaxGroupDepth) return malformed("protobuf groups nested too deep");
      while (true) {
        if (in.at_end()) return malformed("truncated: group " + std::to_string(field.number) + " has no end");
        Result<Field> inner = read_field(in, depth + 1);
        if (!inner) return inner;
        if (inner->wire_type != kEndGroup) continue;
        if (inner->number != field.number) return malformed("protobuf group " + name + " ends as another");
        return field;
      }
    case kEndGroup:
      return field;
  }
  return malformed("protobuf " + name + " has the unknown wire type " + std::to_string(field.wire_type));
}

/// Calls `on_field` for each top-level field of `message`.
template <class OnField>
Status for_each_field(std::span<const std::byte> message, OnField on_field) {
  Reader in(message);
  while (!in.at_end()) {
    Result<Field> field = read_field(in, 0);
    if (!field) return std::move(field.error());
    if (field->wire_type == kEndGroup) return malformed("a protobuf group ends that never started");
    if (Status handled = on_field(*field); !handled) return handled;
  }
  return {};
}

/// The varint fields of a message whose known fields (1..last) are all integers; later
/// fields are skipped. A field seen twice keeps its last value, as protobuf merges.
struct IntegerFields {
  std::array<uint64_t, 16> value{};
  uint32_t seen = 0;
  bool has(int number) const { return (seen >> number) & 1; }
};

Status decode_integers(std::span<const std::byte> message, uint64_t last, const char* what,
                       IntegerFields& into) {
  return for_each_field(message, [&](const Field& field) -> Status {
    if (field.number > last) return {};
    if (field.wire_type != kVarint)
      return malformed(std::string(what) + " field " + std::to_string(field.number) + " is not an integer");
    into.value[field.number] = field.varint;
    into.seen |= 1u << field.number;
    return {};
  });
}

Status require(const IntegerFields& fields, std::initializer_list<std::pair<int, const char*>> required,
               const char* what) {
  for (auto [number, name] : required)
    if (!fields.has(number)) return malformed(std::string(what) + " lacks " + name);
  return {};
}

double seconds(uint64_t microseconds) { return static_cast<double>(microseconds) / 1e6; }

Result<CriuDumpStats> to_dump_stats(const IntegerFields& fields) {
  Status complete = require(fields, {{kFreezingTime, "freezing_time"}, {kFrozenTime, "frozen_time"},
                                     {kMemdumpTime, "memdump_time"}, {kMemwriteTime, "memwrite_time"},
                                     {kPagesScanned, "pages_scanned"}, {kPagesWritten, "pages_written"}},
                            "the dump stats");
  if (!complete) return std::move(complete.error());
  return CriuDumpStats{seconds(fields.value[kFreezingTime]), seconds(fields.value[kFrozenTime]),
                       seconds(fields.value[kMemdumpTime]), seconds(fields.value[kMemwriteTime]),
                       fields.value[kPagesScanned], fields.value[kPagesWritten]};
}

Result<CriuRestoreStats> to_restore_stats(const IntegerFields& fields) {
  Status complete =
      require(fields, {{kForkingTime, "forking_time"}, {kRestoreTime, "restore_time"}}, "the restore stats");
  if (!complete) return std::move(complete.error());
  return CriuRestoreStats{seconds(fields.value[kForkingTime]), seconds(fields.value[kRestoreTime]),
                          fields.value[kPagesRestored]};
}

Result<CriuStats> decode_entry(std::span<const std::byte> entry) {
  std::optional<IntegerFields> dump, restore;
  Status decoded = for_each_field(entry, [&](const Field& field) -> Status {
    if (field.number != kDumpEntry && field.number != kRestoreEntry) return {};
    if (field.wire_type != kLen)
      return malformed("stats entry field " + std::to_string(field.number) + " is not a message");
    if (field.number == kDumpEntry)
      return decode_integers(field.payload, kLastDumpField, "the dump stats", dump.emplace());
    return decode_integers(field.payload, kLastRestoreField, "the restore stats", restore.emplace());
  });
  if (!decoded) return std::move(decoded.error());
  CriuStats stats;
  if (dump) {
    Result<CriuDumpStats> converted = to_dump_stats(*dump);
    if (!converted) return std::move(converted.error());
    stats.dump = *converted;
  }
  if (restore) {
    Result<CriuRestoreStats> converted = to_restore_stats(*restore);
    if (!converted) return std::move(converted.error());
    stats.restore = *converted;
  }
  return stats;
}

Result<std::vector<std::byte>> read_image(const std::filesystem::path& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec == std::errc::no_such_file_or_directory)
    return make_error(ErrorCode::NotFound, path.string() + " does not exist",
                      "CRIU writes it into its work directory (--work-dir, else the images "
                      "directory) when a dump or restore succeeds");
  if (ec) return make_error(ErrorCode::Io, "cannot read " + path.string() + ": " + ec.message());
  if (size > kMaxImageSize)
    return malformed(path.string() + " is " + std::to_string(size) + " bytes, too large for a CRIU stats image");
  std::vector<std::byte> bytes(size);
  std::ifstream file(path, std::ios::binary);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    return make_error(ErrorCode::Io, "cannot read " + path.string());
  return bytes;
}

Result<CriuStats> read_stats(const std::filesystem::path& path) {
  Result<std::vector<std::byte>> image = read_image(path);
  if (!image) return std::move(image.error());
  Result<CriuStats> stats = parse_criu_stats(*image);
  if (!stats) return std::move(stats.error()).wrap(path.string());
  return stats;
}

}  // namespace

Result<CriuStats> parse_criu_stats(std::span<const std::byte> image) {
  Reader in(image);
  for (uint32_t want : {kServiceMagic, kStatsMagic}) {
    Result<uint32_t> magic = in.u32_le("the image's magic");
    if (!magic) return std::move(magic.error());
    if (*magic != want)
      return malformed("not a CRIU stats image (magic " + hex(*magic) + " where " + hex(want) + " belongs)");
  }
  Result<uint32_t> length = in.u32_le("the entry's length");
  if (!length) return std::move(length.error());
  Result<std::span<const std::byte>> entry = in.take(*length, "the stats entry");
  if (!entry) return std::move(entry.error());
  if (!in.at_end())
    return malformed(std::to_string(in.left()) + " bytes follow the stats entry, which CRIU writes alone");
  return decode_entry(*entry);
}

Result<CriuDumpStats> read_dump_stats(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / kCriuDumpStatsFile;
  Result<CriuStats> stats = read_stats(path);
  if (!stats) return std::move(stats.error());
  if (!stats->dump) return malformed(path.string() + " holds no dump stats");
  return *stats->dump;
}

Result<CriuRestoreStats> read_restore_stats(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / kCriuRestoreStatsFile;
  Result<CriuStats> stats = read_stats(path);
  if (!stats) return std::move(stats.error());
  if (!stats->restore) return malformed(path.string() + " holds no restore stats");
  return *stats->restore;
}

}  // namespace dockmig::checkpoint
