#include "migrate/destination_preflight.h"

#include <gtest/gtest.h>

#include <sys/statvfs.h>

namespace dockmig::migrate {
namespace {

checkpoint::CriuVersion version(int major, int minor) {
  return {major, minor, 0, std::to_string(major) + "." + std::to_string(minor)};
}

uint64_t free_bytes(const std::filesystem::path& dir) {
  struct statvfs room {};
  EXPECT_EQ(statvfs(dir.c_str(), &room), 0);
  return static_cast<uint64_t>(room.f_bavail) * room.f_frsize;
}

TEST(CriuVersions, ADestinationAsNewAsTheSourceRestores) {
  EXPECT_TRUE(check_criu_versions(version(4, 2), "4.2.1"));
  EXPECT_TRUE(check_criu_versions(version(4, 3), "4.2.1"));
  EXPECT_TRUE(check_criu_versions(version(4, 2), ""));  // a source that could not ask its CRIU
}

TEST(CriuVersions, AnOlderDestinationIsRefusedNamingBoth) {
  Status refused = check_criu_versions(version(4, 2), "4.3");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Unsupported);
  EXPECT_NE(refused.error().message.find("4.2 is older than the source's 4.3"), std::string::npos)
      << refused.error().message;
}

TEST(CriuVersions, ACriuOlderThanDockmigNeedsIsRefused) {
  Status refused = check_criu_versions(version(3, 19), "3.17");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("needs 4.2 or newer"), std::string::npos) << refused.error().message;
}

TEST(CriuVersions, AMalformedSourceVersionIsAProtocolError) {
  Status refused = check_criu_versions(version(4, 2), "new");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidInput);
}

TEST(CriuReadiness, AMissingCriuIsRefusedBeforeAnythingFreezes) {
  CriuReadiness readiness("/nonexistent/criu");
  Status refused = readiness.check("4.2.1");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("cannot restore a checkpoint"), std::string::npos)
      << refused.error().message;
}

TEST(FreeSpace, WhatFitsPasses) {
  std::filesystem::path dir = testing::TempDir();
  EXPECT_TRUE(check_free_space({{dir, 1 << 20}}));
  EXPECT_TRUE(check_free_space({}));
}

TEST(FreeSpace, MoreThanTheDiskHoldsIsRefusedWithBothSizes) {
  std::filesystem::path dir = testing::TempDir();
  Status refused = check_free_space({{dir / "not-made-yet" / "staging", free_bytes(dir) + (1ull << 30)}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Io);
  EXPECT_NE(refused.error().message.find("MiB free on the file system of"), std::string::npos)
      << refused.error().message;
}

TEST(FreeSpace, DirsOnOneFileSystemAddUp) {
  std::filesystem::path dir = testing::TempDir();
  if (free_bytes(dir) < (1ull << 30)) GTEST_SKIP() << "less than 1 GiB free in " << dir;
  uint64_t half = free_bytes(dir) / 2 + (1ull << 20);  // each fits alone, not both
  EXPECT_TRUE(check_free_space({{dir, half - 2 * kSpareBytes}}));
  EXPECT_FALSE(check_free_space({{dir, half}, {dir / "other", half}}));
}

TEST(FreeSpace, ADirNotMadeYetIsMeasuredOnItsNearestAncestor) {
  std::filesystem::path dir = testing::TempDir();
  EXPECT_GT(free_bytes_near(dir / "not" / "made"), 0u);
  EXPECT_GT(free_bytes_near("relative/not/made"), 0u);
}

TEST(MemoryStaging, NeedsRoomForStoreAndImagesThereAndForTheRestoreInMemory) {
  constexpr uint64_t kMiB = 1 << 20;
  uint64_t memory = 300 * kMiB;
  EXPECT_TRUE(memory_staging_fits(memory, 600 * kMiB + kSpareBytes, 900 * kMiB + kSpareBytes));
  EXPECT_FALSE(memory_staging_fits(memory, 600 * kMiB + kSpareBytes - 1, 4096 * kMiB)) << "the tmpfs is too small";
  EXPECT_FALSE(memory_staging_fits(memory, 4096 * kMiB, 900 * kMiB)) << "the restored container would not fit too";
  EXPECT_TRUE(memory_staging_fits(0, kSpareBytes, kSpareBytes));
}

TEST(MemoryStaging, FallsBackWithoutATmpfsOrWhenItIsTooSmall) {
  std::filesystem::path disk = testing::TempDir();
  EXPECT_EQ(choose_memory_staging({}, disk, 1), disk);
  EXPECT_EQ(choose_memory_staging(disk / "fast", disk, free_bytes(disk) + (1ull << 30)), disk);
  EXPECT_EQ(choose_memory_staging(disk / "fast", disk, 1 << 20), disk / "fast");
}

TEST(MemoryStaging, EachStateDirHasItsOwnRoot) {
  EXPECT_EQ(memory_staging_root("/dev/shm", "/var/lib/dockmig"), "/dev/shm/dockmig-var-lib-dockmig");
  EXPECT_EQ(memory_staging_root("/dev/shm", "/var/lib/dockmig/"), "/dev/shm/dockmig-var-lib-dockmig");
  EXPECT_NE(memory_staging_root("/dev/shm", "/run/bed/agent-edge-a"), memory_staging_root("/dev/shm", "/run/bed/agent-edge-b"));
}

TEST(BindSources, AnExistingSourcePassesAMissingOneIsRefusedNamingIt) {
  nlohmann::json create = nlohmann::json::parse(R"({"HostConfig": {"Mounts": [
    {"Type": "volume", "Source": "pgdata", "Target": "/data"},
    {"Type": "bind", "Source": "/", "Target": "/host"}]}})");
  EXPECT_TRUE(check_bind_sources(create));
  create["HostConfig"]["Mounts"].push_back({{"Type", "bind"}, {"Source", "/no/such/dir"}, {"Target", "/conf"}});
  Status checked = check_bind_sources(create);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(checked.error().message.find("`/no/such/dir`"), std::string::npos) << checked.error().message;
  EXPECT_NE(checked.error().hint.find("--bind-map"), std::string::npos);
}

TEST(BindSources, OddShapesAreLeftToThePolicyNeverThrown) {
  for (const char* create : {R"([])", R"({"HostConfig": 3})", R"({"HostConfig": {"Mounts": {}}})",
                             R"({"HostConfig": {"Mounts": [5, {"Type": 1}]}})"})
    EXPECT_TRUE(check_bind_sources(nlohmann::json::parse(create))) << create;
}

}  // namespace
}  // namespace dockmig::migrate
