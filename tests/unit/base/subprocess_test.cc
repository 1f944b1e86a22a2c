#include "base/subprocess.h"

#include <gtest/gtest.h>

namespace dockmig::base {
namespace {

TEST(Subprocess, CapturesOutputErrorAndExitCode) {
  Result<Exit> exit = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(exit) << exit.error().message;
  EXPECT_EQ(exit->out, "out\n");
  EXPECT_EQ(exit->err, "err\n");
  EXPECT_EQ(exit->code, 3);
}

TEST(Subprocess, PassesExtraEnvironment) {
  RunOptions options;
  options.env = {"DOCKMIG_TEST_VALUE=42"};
  Result<Exit> exit = run({"sh", "-c", "echo $DOCKMIG_TEST_VALUE"}, options);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->out, "42\n");
}

TEST(Subprocess, KillsAChildThatOutlivesItsTimeout) {
  RunOptions options;
  options.timeout = std::chrono::milliseconds(200);
  Result<Exit> exit = run({"sleep", "30"}, options);
  ASSERT_FALSE(exit);
  EXPECT_EQ(exit.error().code, ErrorCode::Timeout);
  EXPECT_NE(exit.error().message.find("sleep 30"), std::string::npos);
}

TEST(Subprocess, ReportsAMissingProgramAsExit127) {
  Result<Exit> exit = run({"dockmig-no-such-program"});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->code, 127);
  EXPECT_NE(exit->err.find("cannot execute"), std::string::npos);
}

TEST(Subprocess, FindsProgramsOnPath) {
  EXPECT_FALSE(find_on_path("sh").empty());
  EXPECT_TRUE(find_on_path("dockmig-no-such-program").empty());
}

}  // namespace
}  // namespace dockmig::base
