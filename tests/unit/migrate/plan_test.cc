#include "migrate/plan.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

TEST(ProcessCount, UpToTheLimitMoves) {
  EXPECT_EQ(process_count_blocker(0), "");  // Docker did not say
  EXPECT_EQ(process_count_blocker(kMaxProcesses), "");
}

// Refused before anything is frozen: the list of page images after the freeze would not
// fit a protocol message.
TEST(ProcessCount, MoreThanTheLimitIsABlockerNamingBoth) {
  std::string blocker = process_count_blocker(kMaxProcesses + 1);
  EXPECT_NE(blocker.find("runs " + std::to_string(kMaxProcesses + 1) + " processes"), std::string::npos) << blocker;
  EXPECT_NE(blocker.find("at most " + std::to_string(kMaxProcesses)), std::string::npos) << blocker;
}

// `--mount type=tmpfs` is in Mounts, `--tmpfs` only in HostConfig.Tmpfs: inspect lists both,
// each once, and nothing else.
TEST(TmpfsTargets, FromMountsAndHostConfigEachOnce) {
  docker::ContainerInfo container;
  container.mounts = {{"tmpfs", "", "", "", "/scratch", true}, {"volume", "data", "local", "/v/_data", "/data", true}};
  container.host_config = {{"Tmpfs", {{"/run/app", "size=64m"}, {"/scratch", ""}}}};
  EXPECT_EQ(tmpfs_targets(container), (std::vector<std::string>{"/scratch", "/run/app"}));
}

TEST(TmpfsTargets, NoneWithoutTmpfs) {
  docker::ContainerInfo container;
  container.host_config = {{"Tmpfs", nullptr}};
  EXPECT_TRUE(tmpfs_targets(container).empty());
}

}  // namespace
}  // namespace dockmig::migrate
