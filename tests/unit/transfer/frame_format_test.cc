// The wire format's own rules: a frame's checksum catches any flipped bit of its header or
// payload, and two version ranges meet at their highest common version or not at all.
#include "transfer/frame_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace dockmig::transfer {
namespace {

using Bytes = std::vector<std::byte>;

Bytes sealed(FrameKind kind, std::string_view text) {
  std::span<const std::byte> payload = std::as_bytes(std::span(text));
  std::array<std::byte, kFrameHeaderSize> header = encode_frame_header(kind, payload);
  Bytes frame(kFrameHeaderSize + payload.size());  // sized first: GCC 12 warns on a growing insert
  std::copy(header.begin(), header.end(), frame.begin());
  std::copy(payload.begin(), payload.end(), frame.begin() + kFrameHeaderSize);
  return frame;
}

/// Whether `frame` (header and payload) decodes and passes its checksum.
bool passes(const Bytes& frame) {
  std::span<const std::byte, kFrameHeaderSize> header(frame.data(), kFrameHeaderSize);
  Result<FrameHeader> decoded = decode_frame_header(header);
  return decoded && frame_intact(*decoded, std::span(frame).subspan(kFrameHeaderSize));
}

TEST(FrameChecksum, ASoundFrameDecodesWithItsKindAndLength) {
  Bytes frame = sealed(FrameKind::Message, R"({"type":"commit"})");
  Result<FrameHeader> header = decode_frame_header(std::span<const std::byte, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
  ASSERT_TRUE(header);
  EXPECT_EQ(header->kind, FrameKind::Message);
  EXPECT_EQ(header->length, 17u);
  EXPECT_TRUE(passes(frame));
}

TEST(FrameChecksum, EveryFlippedBitOfTheChecksumOrPayloadFailsIt) {
  Bytes frame = sealed(FrameKind::Message, R"({"type":"restored","restore":"eager"})");
  for (size_t at = 5; at < frame.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes damaged = frame;
      damaged[at] ^= std::byte(1 << bit);
      EXPECT_FALSE(passes(damaged)) << "byte " << at << " bit " << bit;
    }
  }
}

TEST(FrameChecksum, AnotherKindOrLengthFailsIt) {
  Bytes frame = sealed(FrameKind::Chunk, "some bytes");
  Bytes as_message = frame;
  as_message[0] = std::byte(FrameKind::Message);
  EXPECT_FALSE(passes(as_message));
  Bytes shorter = frame;
  shorter[4] = std::byte(9);
  shorter.pop_back();
  EXPECT_FALSE(passes(shorter));
}

TEST(FrameChecksum, AnEmptyPayloadIsCheckedToo) {
  Bytes frame = sealed(FrameKind::BlobEnd, "");
  EXPECT_TRUE(passes(frame));
  frame[12] ^= std::byte{1};
  EXPECT_FALSE(passes(frame));
}

TEST(FrameHeaderDecoding, RefusesUnknownKindsAndOversizedLengths) {
  std::array<std::byte, kFrameHeaderSize> header{};
  header[0] = std::byte{9};
  EXPECT_FALSE(decode_frame_header(header));
  header[0] = std::byte{0};
  EXPECT_FALSE(decode_frame_header(header));
  header = {std::byte{1}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  Result<FrameHeader> huge = decode_frame_header(header);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::InvalidInput);
  header = {std::byte{1}, std::byte{0x00}, std::byte{0x10}, std::byte{0x00}, std::byte{0x00}};
  EXPECT_TRUE(decode_frame_header(header));
}

TEST(VersionNegotiation, TakesTheHighestCommonVersion) {
  EXPECT_EQ(*negotiate_version({2, 3}, {1, 2}, "peer"), 2);
  EXPECT_EQ(*negotiate_version({2, 3}, {2, 5}, "peer"), 3);
  EXPECT_EQ(*negotiate_version({2, 2}, {2, 2}, "peer"), 2);
  EXPECT_EQ(*negotiate_version({1, 4}, {3, 3}, "peer"), 3);
}

TEST(VersionNegotiation, NoCommonVersionNamesBothRangesAndThePeer) {
  Result<uint16_t> older = negotiate_version({2, 2}, {1, 1}, "10.0.0.2:7070");
  ASSERT_FALSE(older);
  EXPECT_EQ(older.error().code, ErrorCode::InvalidInput);
  EXPECT_EQ(older.error().message,
            "`10.0.0.2:7070` speaks protocol version 1, this dockmig speaks 2: they have none in common");
  Result<uint16_t> newer = negotiate_version({2, 3}, {4, 6}, "b:1");
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().message, "`b:1` speaks protocol version 4 to 6, this dockmig speaks 2 to 3: they have none in common");
  EXPECT_FALSE(newer.error().hint.empty());
}

TEST(Hello, SaysTheRangeAndAVersionOnePeerSaysOnlyItsVersion) {
  std::array<std::byte, kHelloSize> hello = encode_hello({2, 7});
  std::span<const std::byte, kLegacyHelloSize> first(hello.data(), kLegacyHelloSize);
  EXPECT_TRUE(hello_magic_matches(first));
  EXPECT_EQ(hello_max_version(first), 7);
  Result<VersionRange> range = hello_range(7, std::span<const std::byte, 2>(hello.data() + kLegacyHelloSize, 2));
  ASSERT_TRUE(range);
  EXPECT_EQ(range->min, 2);
  EXPECT_EQ(range->max, 7);
  Result<VersionRange> legacy = hello_range(1, std::nullopt);
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->min, 1);
  EXPECT_EQ(legacy->max, 1);
}

TEST(Hello, ARangeThatIsNoRangeIsRefused) {
  std::array<std::byte, 2> zero{};
  EXPECT_FALSE(hello_range(3, std::span<const std::byte, 2>(zero)));
  std::array<std::byte, 2> above = {std::byte{0}, std::byte{4}};
  EXPECT_FALSE(hello_range(3, std::span<const std::byte, 2>(above)));
}

}  // namespace
}  // namespace dockmig::transfer
