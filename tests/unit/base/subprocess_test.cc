#include "base/subprocess.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "base/unique_fd.h"

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

UniqueFd open_close_on_exec() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

TEST(Subprocess, PassesOnExactlyTheInheritedFds) {
  UniqueFd passed = open_close_on_exec(), kept = open_close_on_exec();
  ASSERT_TRUE(passed && kept);
  RunOptions options;
  options.inherit_fds = {passed.get()};
  std::string check = "test -e /proc/self/fd/" + std::to_string(passed.get()) + " && echo passed; " +
                      "test -e /proc/self/fd/" + std::to_string(kept.get()) + " && echo kept; true";
  Result<Exit> exit = run({"sh", "-c", check}, options);
  ASSERT_TRUE(exit) << exit.error().message;
  EXPECT_EQ(exit->out, "passed\n");
  EXPECT_NE(::fcntl(passed.get(), F_GETFD) & FD_CLOEXEC, 0);  // only the child's copy changed
}

TEST(Subprocess, AnInheritedFdThatIsNotOpenFailsTheChild) {
  // High, so the run's own pipes do not take the number again.
  int closed = ::fcntl(open_close_on_exec().get(), F_DUPFD_CLOEXEC, 500);
  ::close(closed);
  RunOptions options;
  options.inherit_fds = {closed};
  Result<Exit> exit = run({"true"}, options);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->code, 127);
  EXPECT_NE(exit->err.find("cannot pass fd"), std::string::npos) << exit->err;
}

TEST(Subprocess, FindsProgramsOnPath) {
  EXPECT_FALSE(find_on_path("sh").empty());
  EXPECT_TRUE(find_on_path("dockmig-no-such-program").empty());
}

}  // namespace
}  // namespace dockmig::base
