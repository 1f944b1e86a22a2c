#include "fleet/ownership_watch.h"

#include <gtest/gtest.h>

namespace dockmig::fleet {
namespace {

TEST(ParseRevision, TakesAWholeNumberFromOne) {
  EXPECT_EQ(*parse_revision("1"), 1);
  EXPECT_EQ(*parse_revision("9223372036854775807"), 9223372036854775807);
}

TEST(ParseRevision, RefusesWhatIsNotARevisionNamingIt) {
  for (const char* bad : {"", "0", "-3", "+3", " 3", "3 ", "3x", "0x10", "1.5", "9223372036854775808"}) {
    Result<int64_t> parsed = parse_revision(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::InvalidInput);
    EXPECT_NE(parsed.error().message.find(std::string("`") + bad + "`"), std::string::npos) << parsed.error().message;
  }
}

}  // namespace
}  // namespace dockmig::fleet
