// The agent protocol's bytes on the wire (docs/protocol.md, "Hello" and "Frames"): the
// hello that says which protocol versions a side speaks, and the frame header whose
// checksum lets a receiver refuse a frame the link damaged before it acts on it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "dockmig/result.h"

namespace dockmig::transfer {

inline constexpr uint32_t kMaxFrame = 1u << 20;

enum class FrameKind : uint8_t { Message = 1, Chunk = 2, BlobEnd = 3, Error = 4, Ack = 5 };

/// The protocol versions one side speaks, both ends included.
struct VersionRange {
  uint16_t min = 0;
  uint16_t max = 0;
};

/// Version 1: frames without a checksum (dockmig before the hello said a range).
/// Version 2: every frame carries an XXH3-64 of its kind, length and payload.
inline constexpr VersionRange kSpokenVersions{2, 2};

/// "DOCKMIG\n", the highest version (u16 BE), then, from version 2 on, the lowest (u16 BE).
/// A version-1 peer sends only the first 10 bytes, and its one version.
inline constexpr size_t kHelloSize = 12;
inline constexpr size_t kLegacyHelloSize = 10;
std::array<std::byte, kHelloSize> encode_hello(VersionRange spoken);
/// Whether the first kLegacyHelloSize bytes start with the magic.
bool hello_magic_matches(std::span<const std::byte, kLegacyHelloSize> first);
/// The highest version of the hello's first bytes; when it is 2 or more, 2 more bytes follow.
uint16_t hello_max_version(std::span<const std::byte, kLegacyHelloSize> first);
/// The range a hello says: `min_bytes` is absent for a version-1 peer.
Result<VersionRange> hello_range(uint16_t max, std::optional<std::span<const std::byte, 2>> min_bytes);

/// "2", or "2 to 3".
std::string version_range_text(VersionRange range);
/// The highest version both ranges hold, or an error naming both ranges and `peer`.
Result<uint16_t> negotiate_version(VersionRange ours, VersionRange theirs, const std::string& peer);

/// kind (1 B), length (u32 BE), checksum (u64 BE: XXH3-64 of the payload, seeded with
/// kind and length, so a damaged header fails it too).
inline constexpr size_t kFrameHeaderSize = 13;

struct FrameHeader {
  FrameKind kind;
  uint32_t length;
  uint64_t checksum;
};

uint64_t frame_checksum(FrameKind kind, std::span<const std::byte> payload);
/// The header of a frame carrying `payload` (at most kMaxFrame bytes).
std::array<std::byte, kFrameHeaderSize> encode_frame_header(FrameKind kind, std::span<const std::byte> payload);
/// Errors on an unknown kind or a length above kMaxFrame; the checksum is checked with
/// the payload (frame_intact).
Result<FrameHeader> decode_frame_header(std::span<const std::byte, kFrameHeaderSize> bytes);
bool frame_intact(const FrameHeader& header, std::span<const std::byte> payload);

const char* kind_name(FrameKind kind);

}  // namespace dockmig::transfer
