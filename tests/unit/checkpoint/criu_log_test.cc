#include "checkpoint/criu_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace dockmig::checkpoint {
namespace {

// Lines as CRIU 4.2 writes them when runc restores a container through dockerd.
constexpr const char* kRestoreLog =
    "(00.000000) CRIU run id = 7a23b696\n"
    "(00.000141) Version: 4.2.1 (gitid 0)\n"
    "(00.088709) Running setup-namespaces scripts\n"
    "(00.088719) \tRPC\n"
    "(00.376590)      1: cg: Move into 2\n"
    "continued line without a timestamp\n"
    "(00.497719) Running post-setup-namespaces scripts\n"
    "(00.497766) \tRPC\n"
    "(00.498467)      1: Preparing info about shared resources\n"
    "(00.577177) \tRPC\n";

TEST(CriuLogTest, SplitsCriusRunFromTheHooksItWaitedFor) {
  CriuLogTimes times = parse_criu_log_times(kRestoreLog);
  EXPECT_NEAR(times.seconds, 0.577177, 1e-9);
  EXPECT_NEAR(times.hooks_seconds, (0.376590 - 0.088709) + (0.498467 - 0.497719), 1e-9);
}

TEST(CriuLogTest, AnRpcLineWithoutAnnouncedScriptsIsNoHook) {
  CriuLogTimes times = parse_criu_log_times("(00.100000) Dumping\n(00.200000) \tRPC\n(00.900000) done\n");
  EXPECT_NEAR(times.seconds, 0.8, 1e-9);
  EXPECT_EQ(times.hooks_seconds, 0);
}

TEST(CriuLogTest, ForeignOrBrokenTextGivesZeroes) {
  for (const char* text : {"", "no timestamps here\n", "(xx.yy) Running a scripts\n", "(00.5\n", "(1e9"}) {
    CriuLogTimes times = parse_criu_log_times(text);
    EXPECT_EQ(times.seconds, 0) << text;
    EXPECT_EQ(times.hooks_seconds, 0) << text;
  }
}

TEST(CriuLogTest, AHookStillRunningAtTheEndCountsNothing) {
  CriuLogTimes times = parse_criu_log_times("(00.100000) Running network-lock scripts\n(00.100010) \tRPC\n");
  EXPECT_NEAR(times.seconds, 0.00001, 1e-9);
  EXPECT_EQ(times.hooks_seconds, 0);
}

TEST(CriuLogTest, AMissingFileIsNotFound) {
  Result<CriuLogTimes> times = read_criu_log_times("/nonexistent/dump.log");
  ASSERT_FALSE(times);
  EXPECT_EQ(times.error().code, ErrorCode::NotFound);
}

TEST(CriuLogTest, SplitsTheCallAroundCriusRun) {
  using std::chrono::milliseconds;
  std::chrono::system_clock::time_point started{};
  CriuLogTimes log{0.5, 0, started + milliseconds(800)};
  std::optional<AroundCriu> around = around_criu(log, started, started + milliseconds(900));
  ASSERT_TRUE(around);
  EXPECT_NEAR(around->before_seconds, 0.3, 1e-9);
  EXPECT_NEAR(around->after_seconds, 0.1, 1e-9);
}

TEST(CriuLogTest, ALogThatDoesNotFitTheCallSplitsNothing) {
  using std::chrono::milliseconds;
  std::chrono::system_clock::time_point started{};
  EXPECT_FALSE(around_criu({0.5, 0, std::nullopt}, started, started + milliseconds(900)));
  EXPECT_FALSE(around_criu({0.5, 0, started + milliseconds(950)}, started, started + milliseconds(900)));
  EXPECT_FALSE(around_criu({0.5, 0, started + milliseconds(300)}, started, started + milliseconds(900)));
}

TEST(CriuLogTest, AFileGivesItsLastWriteAsTheEnd) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "dockmig-criu-log-test.log";
  { std::ofstream(path) << "(00.000000) start\n(00.250000) end\n"; }
  Result<CriuLogTimes> times = read_criu_log_times(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(times);
  EXPECT_NEAR(times->seconds, 0.25, 1e-9);
  ASSERT_TRUE(times->ended_at);
  EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - *times->ended_at), std::chrono::minutes(1));
}

TEST(CriuLogTest, AFollowerSeesTheDumpFinishOnlyOnceCriuWroteItsLastLine) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "dockmig-criu-follow-test.log";
  std::filesystem::remove(path);
  DumpLogFollower follower(path);
  EXPECT_FALSE(follower.dump_finished());  // no log yet
  std::ofstream log(path);
  log << "(00.100000) Dumping path for 1 fd via self 3 [/]\n(00.200000) Dumping fin" << std::flush;
  EXPECT_FALSE(follower.dump_finished());  // half a line
  log << "ished successfully\n" << std::flush;
  EXPECT_TRUE(follower.dump_finished());
  std::filesystem::remove(path);
}

TEST(CriuLogTest, AFollowerSeesTheTasksSeizedBeforeTheDumpFinishes) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "dockmig-criu-seized-test.log";
  std::filesystem::remove(path);
  DumpLogFollower follower(path);
  std::ofstream log(path);
  log << "(00.054451) freezing cgroup /sys/fs/cgroup/freezer/docker/abc: 100 x 100ms attempts, timeout: 10s\n"
         "(00.054468) freezer.state=FROZEN\n" << std::flush;
  EXPECT_FALSE(follower.tasks_seized());
  log << "(00.055986) Seized task 13181, state 1\n" << std::flush;
  EXPECT_TRUE(follower.tasks_seized());
  EXPECT_FALSE(follower.dump_finished());
  log << "(00.174984) Dumping finished successfully\n" << std::flush;
  EXPECT_TRUE(follower.dump_finished());
  EXPECT_TRUE(follower.tasks_seized());
  std::filesystem::remove(path);
}

TEST(CriuLogTest, AFailedDumpIsNotAFinishedOne) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "dockmig-criu-failed-test.log";
  { std::ofstream(path) << "(00.100000) Error (criu/sk-inet.c:191): inet: Connected TCP socket\n"
                           "(00.200000) Dumping FAILED.\n"; }
  DumpLogFollower follower(path);
  EXPECT_FALSE(follower.dump_finished());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace dockmig::checkpoint
