#include "checkpoint/masked_mounts.h"

#include <gtest/gtest.h>

namespace dockmig::checkpoint {
namespace {

// A busybox container's mounts under Docker 20.10 (runc 1.1), from its /proc/1/mountinfo.
constexpr const char* kContainerMounts =
    "94 65 0:43 / / rw,relatime master:27 - overlay overlay rw,lowerdir=/l\n"
    "95 94 0:47 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "96 94 0:45 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "98 94 0:46 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
    "99 98 0:48 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755\n"
    "100 99 0:30 / /sys/fs/cgroup/cpu ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup ro,cpu\n"
    "110 96 0:49 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k\n"
    "66 95 0:50 / /proc/acpi ro,relatime - tmpfs tmpfs ro\n"
    "67 95 0:45 /null /proc/keys rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "69 98 0:51 / /sys/firmware ro,relatime - tmpfs tmpfs ro\n";

TEST(ParseMountinfo, ReadsRootMountpointOptionsAndType) {
  std::vector<MountInfoEntry> mounts = parse_mountinfo(kContainerMounts);
  ASSERT_EQ(mounts.size(), 10u);
  EXPECT_EQ(mounts[0].mountpoint, "/");
  EXPECT_EQ(mounts[0].fstype, "overlay");  // after an optional field
  EXPECT_EQ(mounts[8].root, "/null");
  EXPECT_EQ(mounts[9].mountpoint, "/sys/firmware");
  EXPECT_EQ(mounts[9].options, "ro,relatime");
  EXPECT_EQ(mounts[9].fstype, "tmpfs");
}

TEST(ParseMountinfo, LeavesOutBrokenAndEscapedLines) {
  EXPECT_TRUE(parse_mountinfo("1 2 0:3 / /a rw\n").empty());
  EXPECT_TRUE(parse_mountinfo("1 2 0:3 / /a\\040b ro - tmpfs tmpfs ro\n").empty());
}

TEST(MaskedDirMounts, FindsRuncsReadOnlyTmpfsMasksOnly) {
  // Not /dev, /dev/shm (written to), /sys/fs/cgroup (mounts below), nor the masked file.
  EXPECT_EQ(masked_dir_mounts(parse_mountinfo(kContainerMounts)),
            (std::vector<std::string>{"/proc/acpi", "/sys/firmware"}));
}

TEST(MaskedDirMounts, AMaskRestoredFromTheHostsTmpfsIsStillOne) {
  auto mounts = parse_mountinfo("144 134 0:43 / /proc/acpi ro,relatime - tmpfs dockmig-masked ro,size=4k\n");
  EXPECT_EQ(masked_dir_mounts(mounts), (std::vector<std::string>{"/proc/acpi"}));
}

TEST(MaskedDirMounts, AWritableOrNonRootTmpfsIsNoMask) {
  auto mounts = parse_mountinfo(
      "1 0 0:43 / /proc/acpi rw,relatime - tmpfs tmpfs rw\n"
      "2 0 0:44 /sub /sys/firmware ro,relatime - tmpfs tmpfs ro\n"
      "3 0 0:45 / /run/secrets ro,relatime - tmpfs tmpfs ro\n");
  EXPECT_TRUE(masked_dir_mounts(mounts).empty());
}

TEST(MaskedDumpLines, OneExternalLinePerDirWithTheSharedKey) {
  EXPECT_EQ(masked_dump_lines({"/proc/acpi", "/sys/firmware"}),
            "external mnt[/proc/acpi]:dockmig-masked-empty\nexternal mnt[/sys/firmware]:dockmig-masked-empty\n");
  EXPECT_EQ(masked_dump_lines({}), "");
}

const LendableMasks kBothMasks{{"/proc/acpi", "/sys/firmware"}, ""};

TEST(ChooseMaskLending, LendsWhenTheSourceAllowsAndTheDestinationMapsTheKey) {
  MaskLending lending = choose_mask_lending(kBothMasks, true, "");
  EXPECT_EQ(lending.dirs, kBothMasks.dirs);
  EXPECT_EQ(lending.reason,
            "runc's masked dirs (/proc/acpi, /sys/firmware) lent to CRIU as external mounts: both ends map their key");
}

TEST(ChooseMaskLending, ArchivesWhenTheDestinationCannotMapTheKey) {
  MaskLending lending = choose_mask_lending(kBothMasks, false, "its dockmig is in another mount namespace");
  EXPECT_TRUE(lending.dirs.empty());
  EXPECT_EQ(lending.reason, "runc's masked dirs archived by CRIU: the destination cannot map their key: its dockmig "
                            "is in another mount namespace");
  EXPECT_EQ(choose_mask_lending(kBothMasks, false, "").reason,
            "runc's masked dirs archived by CRIU: the destination cannot map their key: it gave no reason");
}

TEST(ChooseMaskLending, AnOlderDestinationThatSaysNothingCountsAsCannot) {
  MaskLending lending = choose_mask_lending(kBothMasks, std::nullopt, "");
  EXPECT_TRUE(lending.dirs.empty());
  EXPECT_EQ(lending.reason, "runc's masked dirs archived by CRIU: the destination's dockmig does not say whether it "
                            "can map their key (an older one)");
}

TEST(ChooseMaskLending, TheSourcesOwnRefusalWinsWhateverTheDestinationSays) {
  LendableMasks refused{{}, "the container may remount its masked dirs (CAP_SYS_ADMIN)"};
  for (std::optional<bool> maps : {std::optional<bool>(true), std::optional<bool>(false), std::optional<bool>()}) {
    MaskLending lending = choose_mask_lending(refused, maps, "");
    EXPECT_TRUE(lending.dirs.empty());
    EXPECT_EQ(lending.reason, "runc's masked dirs archived by CRIU: the container may remount its masked dirs "
                              "(CAP_SYS_ADMIN)");
  }
}

}  // namespace
}  // namespace dockmig::checkpoint
