#include "dockmig/result.h"

#include <gtest/gtest.h>

namespace dockmig {
namespace {

Result<int> half(int value) {
  if (value % 2 != 0) return make_error(ErrorCode::InvalidInput, std::to_string(value) + " is odd");
  return value / 2;
}

TEST(Result, CarriesAValueOrAnError) {
  Result<int> ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  Result<int> bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidInput);
}

TEST(Error, WrapPrefixesContextAndKeepsTheHint) {
  Error error = make_error(ErrorCode::NotFound, "no such file", "create it");
  Error wrapped = std::move(error).wrap("reading `a.txt`");
  EXPECT_EQ(wrapped.message, "reading `a.txt`: no such file");
  EXPECT_EQ(wrapped.describe(), "reading `a.txt`: no such file\n  hint: create it");
}

TEST(Status, DefaultIsSuccess) {
  Status status;
  EXPECT_TRUE(status);
  Status failed = make_error(ErrorCode::Io, "disk full");
  EXPECT_FALSE(failed);
  EXPECT_EQ(to_string(failed.error().code), "i/o error");
}

}  // namespace
}  // namespace dockmig
