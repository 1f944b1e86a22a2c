#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "memory/page_coding.h"

namespace dockmig::memory {
namespace {

using Page = std::array<std::byte, kPageSize>;

// 32-bit words that grow a little, irregularly: a row of an integral image.
Page growing_words() {
  Page page;
  std::mt19937 noise(7);
  uint32_t sum = 1u << 20;
  for (size_t i = 0; i < kPageSize / 4; ++i) {
    sum += noise() % 256;
    std::memcpy(page.data() + 4 * i, &sum, 4);
  }
  return page;
}

Page text() {
  Page page;
  std::string line = "GET /video.mp4 HTTP/1.1 206 Partial Content\n";
  for (size_t i = 0; i < kPageSize; ++i) page[i] = static_cast<std::byte>(line[i % line.size()]);
  return page;
}

Page random_bytes() {
  Page page;
  std::mt19937 noise(11);
  for (std::byte& b : page) b = static_cast<std::byte>(noise());
  return page;
}

Page decoded(const std::vector<std::byte>& coded) {
  Page page;
  Status done = decode_page(std::span<const std::byte, kCodedPageSize>(coded.data(), kCodedPageSize), page);
  EXPECT_TRUE(done) << done.error().describe();
  return page;
}

TEST(WordDifferences, GiveBackThePageWhateverItHolds) {
  for (const Page& page : {growing_words(), text(), random_bytes(), Page{}}) {
    Page coded, back;
    to_word_differences(page, coded);
    from_word_differences(coded, back);
    EXPECT_EQ(back, page);
  }
  Page wrapping;
  std::memset(wrapping.data(), 0xff, kPageSize);
  wrapping[0] = std::byte{0};
  Page coded, back;
  to_word_differences(wrapping, coded);
  from_word_differences(coded, back);
  EXPECT_EQ(back, wrapping);
}

TEST(PageEncoder, CodesGrowingWordsAsDifferencesAndTextAsItIs) {
  PageEncoder encoder;
  std::vector<std::byte> words, letters;
  encoder.encode(growing_words(), words);
  encoder.encode(text(), letters);
  ASSERT_EQ(words.size(), kCodedPageSize);
  ASSERT_EQ(letters.size(), kCodedPageSize);
  EXPECT_EQ(words[0], std::byte{1});
  EXPECT_EQ(letters[0], std::byte{0});
  EXPECT_EQ(encoder.word_difference_pages(), 1u);
  EXPECT_EQ(decoded(words), growing_words());
  EXPECT_EQ(decoded(letters), text());
}

TEST(PageEncoder, AnUnknownCodingIsRefused) {
  std::vector<std::byte> coded(kCodedPageSize);
  coded[0] = std::byte{9};
  Page page;
  Status refused = decode_page(std::span<const std::byte, kCodedPageSize>(coded.data(), kCodedPageSize), page);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "malformed page stream: unknown page coding 9");
}

}  // namespace
}  // namespace dockmig::memory
