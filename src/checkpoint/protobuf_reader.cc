#include "checkpoint/protobuf_reader.h"

namespace dockmig::checkpoint::protobuf {
namespace {

constexpr uint64_t kMaxFieldNumber = (1u << 29) - 1;
constexpr int kMaxGroupDepth = 32;

Error truncated(const std::string& what, uint64_t wanted, size_t left) {
  return malformed("truncated: " + what + " needs " + std::to_string(wanted) + " bytes, " +
                   std::to_string(left) + " are left");
}

}  // namespace

Error malformed(const std::string& what) { return make_error(ErrorCode::InvalidInput, what); }

std::string hex(uint32_t value) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += kDigits[(value >> shift) & 0xf];
  return text;
}

Result<std::span<const std::byte>> Reader::take(uint64_t count, const std::string& what) {
  if (count > bytes_.size()) return truncated(what, count, bytes_.size());
  std::span<const std::byte> taken = bytes_.first(count);
  bytes_ = bytes_.subspan(count);
  return taken;
}

Result<uint32_t> Reader::u32_le(const std::string& what) {
  Result<std::span<const std::byte>> bytes = take(4, what);
  if (!bytes) return std::move(bytes.error());
  uint32_t value = 0;
  for (size_t i = 4; i-- > 0;) value = (value << 8) | std::to_integer<uint32_t>((*bytes)[i]);
  return value;
}

Result<uint64_t> Reader::varint() {
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


}  // namespace dockmig::checkpoint::protobuf
