#include "base/byte_units.h"

#include <gtest/gtest.h>

namespace dockmig::base {
namespace {

TEST(ByteSize, ParsesSuffixesAndRefusesTheRest) {
  EXPECT_EQ(*parse_byte_size("0"), 0u);
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_EQ(*parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_byte_size("2g"), 2ull << 30);
  EXPECT_EQ(*parse_byte_size("1GiB"), 1ull << 30);
  EXPECT_EQ(*parse_byte_size("3KB"), 3ull << 10);
  EXPECT_FALSE(parse_byte_size(""));
  EXPECT_FALSE(parse_byte_size("12X"));
  EXPECT_FALSE(parse_byte_size("-1"));
  EXPECT_FALSE(parse_byte_size("99999999999999999999T"));
}

}  // namespace
}  // namespace dockmig::base
