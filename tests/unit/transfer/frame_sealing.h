// Test input written as frames without their checksums (kind, u32 BE length, payload): the
// fuzz corpora and the unit tests' peers. seal_frames gives each frame the header a sound
// peer sends, so that the input reaches what reads the frames instead of failing the
// checksum; what is malformed (an unknown kind, an oversized or cut-off frame) stays so.
// No gtest here, so the fuzzers can use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "transfer/frame_format.h"

namespace dockmig::transfer::testing {

inline constexpr size_t kUnsealedHeaderSize = 5;

inline std::vector<std::byte> seal_frames(std::span<const std::byte> unsealed) {
  std::vector<std::byte> sealed;
  size_t at = 0;
  while (at + kUnsealedHeaderSize <= unsealed.size()) {
    auto kind = std::to_integer<uint8_t>(unsealed[at]);
    uint32_t length = 0;
    for (size_t i = 1; i < kUnsealedHeaderSize; ++i) length = (length << 8) | std::to_integer<uint32_t>(unsealed[at + i]);
    bool whole = length <= unsealed.size() - at - kUnsealedHeaderSize;
    std::span<const std::byte> payload = unsealed.subspan(at + kUnsealedHeaderSize, whole ? length : 0);
    if (whole && kind >= 1 && kind <= 5 && length <= kMaxFrame) {
      std::array<std::byte, kFrameHeaderSize> header = encode_frame_header(FrameKind(kind), payload);
      sealed.insert(sealed.end(), header.begin(), header.end());
    } else {
      sealed.insert(sealed.end(), unsealed.begin() + static_cast<std::ptrdiff_t>(at),
                    unsealed.begin() + static_cast<std::ptrdiff_t>(at + kUnsealedHeaderSize));
      sealed.resize(sealed.size() + kFrameHeaderSize - kUnsealedHeaderSize);  // a checksum of zeros
    }
    at += kUnsealedHeaderSize;
    if (!whole) break;
    sealed.insert(sealed.end(), payload.begin(), payload.end());
    at += length;
  }
  sealed.insert(sealed.end(), unsealed.begin() + static_cast<std::ptrdiff_t>(at), unsealed.end());
  return sealed;
}

}  // namespace dockmig::transfer::testing
