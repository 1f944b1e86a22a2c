#include "migrate/warm_record.h"

namespace dockmig::migrate {
namespace {

constexpr std::string_view kMagic{"dockmig-warm\x01", 13};

// FNV-1a: catches a torn or damaged file, which is all it has to do here.
uint64_t checksum(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char byte : bytes) hash = (hash ^ byte) * 1099511628211ull;
  return hash;
}

class Writer {
 public:
  void number(uint64_t value, int width = 8) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
  void bytes(std::string_view text) {
    number(text.size(), 4);
    out_.append(text);
  }
  std::string finish() {
    number(checksum(out_));
    return std::move(out_);
  }

 private:
  std::string out_{kMagic};
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint64_t number(int width = 8) {
    if (!fits(width)) return 0;
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) value |= uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
    in_.remove_prefix(width);
    return value;
  }
  std::string bytes() {
    uint64_t size = number(4);
    if (!fits(size)) return {};
    std::string text(in_.substr(0, size));
    in_.remove_prefix(size);
    return text;
  }
  bool good() const { return ok_; }
  bool whole() const { return ok_ && in_.empty(); }

 private:
  bool fits(uint64_t size) {
    if (size > in_.size()) ok_ = false;
    return ok_;
  }
  std::string_view in_;
  bool ok_ = true;
};

void write_stamp(Writer& out, const layers::EntryStamp& stamp) {
  out.number(stamp.mode, 4);
  out.number(stamp.uid, 4);
  out.number(stamp.gid, 4);
  out.number(stamp.size);
  out.number(static_cast<uint64_t>(stamp.mtime_ns));
  out.number(static_cast<uint64_t>(stamp.ctime_ns));
  out.number(stamp.inode);
}

layers::EntryStamp read_stamp(Reader& in) {
  layers::EntryStamp stamp;
  stamp.mode = static_cast<uint32_t>(in.number(4));
  stamp.uid = static_cast<uint32_t>(in.number(4));
  stamp.gid = static_cast<uint32_t>(in.number(4));
  stamp.size = in.number();
  stamp.mtime_ns = static_cast<int64_t>(in.number());
  stamp.ctime_ns = static_cast<int64_t>(in.number());
  stamp.inode = in.number();
  return stamp;
}

Error damaged(const std::string& what) {
  return make_error(ErrorCode::InvalidInput, "damaged preparation record: " + what);
}

}  // namespace

std::string encode_warm_record(const WarmRecord& record) {
  const WarmState& state = record.state;
  Writer out;
  for (std::string_view text : {std::string_view(record.container_id), std::string_view(state.destination),
                                std::string_view(state.warm_id), std::string_view(state.work.native()),
                                std::string_view(state.container_started_at)})
    out.bytes(text);
  out.number(state.raw_bytes);
  out.number(static_cast<uint64_t>(state.prepared_at));
  out.number(state.snapshot.entries.size());
  for (const auto& [name, stamp] : state.snapshot.entries) {
    out.bytes(name);
    write_stamp(out, stamp);
  }
  return out.finish();
}

Result<WarmRecord> decode_warm_record(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return damaged("not a preparation record (wrong magic)");
  if (bytes.size() < kMagic.size() + 8) return damaged("truncated");
  std::string_view body = bytes.substr(0, bytes.size() - 8);
  if (Reader(bytes.substr(body.size())).number() != checksum(body)) return damaged("checksum mismatch");
  Reader in(body.substr(kMagic.size()));
  WarmRecord record;
  WarmState& state = record.state;
  record.container_id = in.bytes();
  state.destination = in.bytes();
  state.warm_id = in.bytes();
  state.work = in.bytes();
  state.container_started_at = in.bytes();
  state.raw_bytes = in.number();
  state.prepared_at = static_cast<int64_t>(in.number());
  uint64_t count = in.number();
  for (uint64_t i = 0; i < count && in.good(); ++i) {
    std::string name = in.bytes();
    state.snapshot.entries[std::move(name)] = read_stamp(in);
  }
  if (!in.whole()) return damaged("fields do not match its length");
  return record;
}

}  // namespace dockmig::migrate
