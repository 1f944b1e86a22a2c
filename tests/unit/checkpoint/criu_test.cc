#include "checkpoint/criu.h"

#include <gtest/gtest.h>

namespace dockmig::checkpoint {
namespace {

TEST(ParseCriuVersion, ReadsMajorMinorPatch) {
  Result<CriuVersion> version = parse_criu_version("Version: 4.2.1\n");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->major, 4);
  EXPECT_EQ(version->minor, 2);
  EXPECT_EQ(version->patch, 1);
  EXPECT_EQ(version->text, "4.2.1");
  EXPECT_TRUE(version->at_least(4, 2));
}

TEST(ParseCriuVersion, TreatsOldReleasesAsTooOld) {
  Result<CriuVersion> version = parse_criu_version("Version: 3.17.1\n");
  ASSERT_TRUE(version);
  EXPECT_FALSE(version->at_least(kMinCriuMajor, kMinCriuMinor));
  Result<CriuVersion> two_part = parse_criu_version("Version: 4.1\nGitID: v4.1\n");
  ASSERT_TRUE(two_part);
  EXPECT_EQ(two_part->patch, 0);
  EXPECT_FALSE(two_part->at_least(4, 2));
}

TEST(ParseCriuVersion, RejectsOutputWithoutAVersion) {
  Result<CriuVersion> version = parse_criu_version("criu: command not found");
  ASSERT_FALSE(version);
  EXPECT_EQ(version.error().code, ErrorCode::ToolFailed);
}

TEST(HasEffectiveCapability, ReadsTheBitOfCapEff) {
  std::string full_root = "Name:\tdockmig\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
  std::string sandboxed = "CapEff:\t00000000a80425fb\n";  // Docker's default set: no CAP_SYS_RESOURCE
  EXPECT_TRUE(has_effective_capability(full_root, 24));
  EXPECT_FALSE(has_effective_capability(sandboxed, 24));
  EXPECT_TRUE(has_effective_capability(sandboxed, 0));  // CAP_CHOWN
  EXPECT_FALSE(has_effective_capability("no such line", 0));
}

TEST(RlimitDumpFailureHint, NamesTheCapabilityOnlyWhenItIsMissing) {
  std::string excerpt = "Error (criu/cr-dump.c:400): Can't get rlimit 0: Operation not permitted\n";
  EXPECT_NE(rlimit_dump_failure_hint(excerpt, false).find("CAP_SYS_RESOURCE"), std::string::npos);
  EXPECT_EQ(rlimit_dump_failure_hint(excerpt, true), "");
  EXPECT_EQ(rlimit_dump_failure_hint("Error: something else\n", false), "");
}

TEST(Criu, NamesTheBinaryItCouldNotFind) {
  Result<Criu> criu = Criu::find("/nonexistent/criu");
  ASSERT_FALSE(criu);
  EXPECT_NE(criu.error().message.find("/nonexistent/criu"), std::string::npos);
  EXPECT_NE(criu.error().hint.find("tools/setup.sh"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::checkpoint
