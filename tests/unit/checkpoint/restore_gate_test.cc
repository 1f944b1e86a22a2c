#include "checkpoint/restore_gate.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/proc_status.h"
#include "base/subprocess.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;

class RestoreGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dockmig-gate-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directories(images_dir());
    fs::create_directories(root_ / "other-images");
  }
  void TearDown() override { fs::remove_all(root_); }

  // Runs the gate's script as a CRIU restoring from `images` would at `action`; its exit
  // status.
  int run_script(const std::string& action, const fs::path& images) {
    Result<base::Exit> exit = base::run({"sh", (gate_dir() / "criu-gate").string()},
                                        {.env = {"CRTOOLS_SCRIPT_ACTION=" + action, "CRTOOLS_IMAGE_DIR=" + images.string()}});
    EXPECT_TRUE(exit) << (exit ? "" : exit.error().describe());
    return exit ? exit->code : -1;
  }
  int run_script(const std::string& action) { return run_script(action, images_dir()); }
  fs::path gate_dir() const { return root_ / "gate"; }
  fs::path images_dir() const { return root_ / "images"; }

  fs::path root_;
};

TEST_F(RestoreGateTest, AnOpenGateLetsTheRestoreGoOn) {
  Result<RestoreGate> gate = RestoreGate::create(gate_dir(), images_dir());
  ASSERT_TRUE(gate) << gate.error().describe();
  EXPECT_FALSE(gate->criu_started());
  EXPECT_EQ(run_script("pre-restore"), 0);
  EXPECT_TRUE(gate->criu_started());
  ASSERT_TRUE(gate->open());
  EXPECT_EQ(run_script("post-setup-namespaces"), 0);
}

TEST_F(RestoreGateTest, AFailedGateFailsTheRestore) {
  Result<RestoreGate> gate = RestoreGate::create(gate_dir(), images_dir());
  ASSERT_TRUE(gate);
  gate->fail();
  EXPECT_EQ(run_script("post-setup-namespaces"), 1);
  EXPECT_EQ(run_script("post-restore"), 0) << "stages other than the gate's pass";
}

// While runc.conf is lent, any restore or dump on the host runs the script: only the one
// whose images carry the gate's marker may wait or fail there.
TEST_F(RestoreGateTest, AnotherCriuPassesTheGateUntouched) {
  Result<RestoreGate> gate = RestoreGate::create(gate_dir(), images_dir());
  ASSERT_TRUE(gate);
  gate->fail();
  EXPECT_EQ(run_script("pre-restore", root_ / "other-images"), 0);
  EXPECT_FALSE(gate->criu_started()) << "another restore's start is not this one's";
  EXPECT_EQ(run_script("post-setup-namespaces", root_ / "other-images"), 0);
  EXPECT_EQ(run_script("post-setup-namespaces"), 1);
}

TEST_F(RestoreGateTest, AGateIsGoneWithItsOwner) {
  { ASSERT_TRUE(RestoreGate::create(gate_dir(), images_dir())); }
  EXPECT_FALSE(fs::exists(gate_dir()));
}

// An agent killed while its parent has not reaped it yet is a zombie: its pid still
// answers kill -0, but the gate must not wait for it.
TEST_F(RestoreGateTest, AnAgentThatEndedFailsTheRestoreEvenAsAZombie) {
  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  pid_t agent = fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    close(hold[1]);
    char byte;
    _exit(read(hold[0], &byte, 1) < 0 ? 1 : 0);
  }
  close(hold[0]);
  Result<RestoreGate> gate = RestoreGate::create(gate_dir(), images_dir(), agent);
  close(hold[1]);  // the agent ends
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, agent, &info, WEXITED | WNOWAIT), 0);  // ended, left unreaped
  ASSERT_TRUE(gate) << gate.error().describe();
  EXPECT_TRUE(base::process_start_ticks(agent)) << "a zombie still has its /proc entry";
  EXPECT_EQ(run_script("post-setup-namespaces"), 1);
  ASSERT_EQ(waitpid(agent, nullptr, 0), agent);
}

TEST(ProcessStartTicks, NamesThisProcessAndNoMissingOne) {
  std::optional<std::string> ours = base::process_start_ticks(getpid());
  ASSERT_TRUE(ours);
  EXPECT_GT(std::stoull(*ours), 0u);
  EXPECT_EQ(base::process_start_ticks(getpid()), ours);
  EXPECT_FALSE(base::process_start_ticks(0));
}

}  // namespace
}  // namespace dockmig::checkpoint
