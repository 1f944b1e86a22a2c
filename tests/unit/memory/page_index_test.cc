#include "memory/page_index.h"

#include <gtest/gtest.h>

#include <random>

namespace dockmig::memory {
namespace {

PageHash some_hash(uint64_t n) {
  std::mt19937_64 random(n);
  return {random(), random()};
}

TEST(HeldPages, FindsEachPageByContentUnderItsStoreIndex) {
  HeldPages held;
  EXPECT_FALSE(held.find(some_hash(1)));
  constexpr uint32_t kPages = 100'000;  // past several growths of the table
  for (uint32_t i = 0; i < kPages; ++i) ASSERT_EQ(held.add(some_hash(i)), i);
  ASSERT_EQ(held.size(), kPages);
  for (uint32_t i = 0; i < kPages; ++i) {
    ASSERT_EQ(held.find(some_hash(i)), i);
    ASSERT_EQ(held.at(i), some_hash(i));
  }
  EXPECT_FALSE(held.find(some_hash(kPages)));
}

TEST(HeldPages, HashesAlikeInTheirLowBitsStayApart) {
  HeldPages held;
  for (uint64_t high = 0; high < 5000; ++high) held.add({42, high});
  for (uint64_t high = 0; high < 5000; ++high) ASSERT_EQ(held.find({42, high}), high);
  EXPECT_FALSE(held.find({42, 5000}));
}

TEST(PageAddressSet, TellsNewAddressesFromOnesSeenBefore) {
  PageAddressSet seen;
  // Two processes' pages counting up side by side, as pre-copy reads them.
  for (uint64_t pid : {7ull, 8ull})
    for (uint64_t page = 0; page < 50'000; ++page) ASSERT_TRUE(seen.insert((pid << 36) ^ page));
  EXPECT_EQ(seen.size(), 100'000u);
  for (uint64_t page = 0; page < 50'000; page += 7) ASSERT_FALSE(seen.insert((7ull << 36) ^ page));
  EXPECT_TRUE(seen.insert(9ull << 36));
  EXPECT_TRUE(seen.insert(0));
  EXPECT_FALSE(seen.insert(0));
  EXPECT_EQ(seen.size(), 100'002u);
}

}  // namespace
}  // namespace dockmig::memory
