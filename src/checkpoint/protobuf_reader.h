// The protobuf wire format as CRIU's images use it, decoded by hand rather than pulling in
// libprotobuf for a few messages of integers: a cursor that never reads past its bytes,
// fields one at a time, and messages whose fields are all integers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "dockmig/result.h"

namespace dockmig::checkpoint::protobuf {

enum WireType { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

Error malformed(const std::string& what);
/// "0x" and 8 hex digits, for a magic number in an error.
std::string hex(uint32_t value);

/// A cursor over bytes that never reads past their end.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  bool at_end() const { return bytes_.empty(); }
  size_t left() const { return bytes_.size(); }
  Result<std::span<const std::byte>> take(uint64_t count, const std::string& what);
  Result<uint32_t> u32_le(const std::string& what);
  Result<uint64_t> varint();

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
Result<Field> read_field(Reader& in, int depth = 0);

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

Status decode_integers(std::span<const std::byte> message, uint64_t last, const char* what, IntegerFields& into);

}  // namespace dockmig::checkpoint::protobuf
