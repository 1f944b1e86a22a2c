#include "transfer/frame_format.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace dockmig::transfer {
namespace {

// Ends in a newline so that a line-based server (HTTP, SMTP) that is not an agent answers
// at once with an error of its own, instead of waiting for the rest of a line.
constexpr std::array<char, 8> kMagic = {'D', 'O', 'C', 'K', 'M', 'I', 'G', '\n'};

void put_be(std::byte* out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out[i] = std::byte(value >> (8 * (bytes - 1 - i)));
}

uint64_t get_be(const std::byte* in, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | std::to_integer<uint64_t>(in[i]);
  return value;
}

}  // namespace

std::string version_range_text(VersionRange range) {
  if (range.min == range.max) return std::to_string(range.max);
  return std::to_string(range.min) + " to " + std::to_string(range.max);
}

std::array<std::byte, kHelloSize> encode_hello(VersionRange spoken) {
  std::array<std::byte, kHelloSize> hello{};
  std::memcpy(hello.data(), kMagic.data(), kMagic.size());
  put_be(hello.data() + kMagic.size(), spoken.max, 2);
  put_be(hello.data() + kMagic.size() + 2, spoken.min, 2);
  return hello;
}

bool hello_magic_matches(std::span<const std::byte, kLegacyHelloSize> first) {
  return std::memcmp(first.data(), kMagic.data(), kMagic.size()) == 0;
}

uint16_t hello_max_version(std::span<const std::byte, kLegacyHelloSize> first) {
  return static_cast<uint16_t>(get_be(first.data() + kMagic.size(), 2));
}

Result<VersionRange> hello_range(uint16_t max, std::optional<std::span<const std::byte, 2>> min_bytes) {
  if (!min_bytes) return VersionRange{max, max};
  auto min = static_cast<uint16_t>(get_be(min_bytes->data(), 2));
  if (min == 0 || min > max)
    return make_error(ErrorCode::InvalidInput, "its hello says versions " + std::to_string(min) + " to " +
                                                   std::to_string(max) + ", which is no range");
  return VersionRange{min, max};
}

Result<uint16_t> negotiate_version(VersionRange ours, VersionRange theirs, const std::string& peer) {
  uint16_t highest = std::min(ours.max, theirs.max);
  if (highest >= std::max(ours.min, theirs.min)) return highest;
  return make_error(ErrorCode::InvalidInput,
                    "`" + peer + "` speaks protocol version " + version_range_text(theirs) + ", this dockmig speaks " +
                        version_range_text(ours) + ": they have none in common",
                    "run a dockmig on both hosts whose protocol versions meet (`dockmig --version`; "
                    "docs/protocol.md, \"Hello\")");
}

uint64_t frame_checksum(FrameKind kind, std::span<const std::byte> payload) {
  uint64_t seed = (uint64_t{static_cast<uint8_t>(kind)} << 32) | payload.size();
  return XXH3_64bits_withSeed(payload.data(), payload.size(), seed);
}

std::array<std::byte, kFrameHeaderSize> encode_frame_header(FrameKind kind, std::span<const std::byte> payload) {
  std::array<std::byte, kFrameHeaderSize> header{};
  header[0] = std::byte(kind);
  put_be(header.data() + 1, payload.size(), 4);
  put_be(header.data() + 5, frame_checksum(kind, payload), 8);
  return header;
}

Result<FrameHeader> decode_frame_header(std::span<const std::byte, kFrameHeaderSize> bytes) {
  auto kind = std::to_integer<uint8_t>(bytes[0]);
  auto length = static_cast<uint32_t>(get_be(bytes.data() + 1, 4));
  if (kind < static_cast<uint8_t>(FrameKind::Message) || kind > static_cast<uint8_t>(FrameKind::Ack)) {
    return make_error(ErrorCode::InvalidInput, "unknown frame kind " + std::to_string(kind));
  }
  if (length > kMaxFrame) {
    return make_error(ErrorCode::InvalidInput, "a frame of " + std::to_string(length) +
                                                   " bytes, above the limit of " + std::to_string(kMaxFrame));
  }
  return FrameHeader{static_cast<FrameKind>(kind), length, get_be(bytes.data() + 5, 8)};
}

bool frame_intact(const FrameHeader& header, std::span<const std::byte> payload) {
  return payload.size() == header.length && frame_checksum(header.kind, payload) == header.checksum;
}

const char* kind_name(FrameKind kind) {
  switch (kind) {
    case FrameKind::Message: return "Message";
    case FrameKind::Chunk: return "Chunk";
    case FrameKind::BlobEnd: return "BlobEnd";
    case FrameKind::Error: return "Error";
    case FrameKind::Ack: return "Ack";
  }
  return "unknown";
}

}  // namespace dockmig::transfer
