#include "base/proc_status.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace dockmig::base {
namespace {

// As the kernel writes it: tabs after the colon, capability sets in hex.
constexpr const char* kStatus =
    "Name:\tsleep\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t4242\n"
    "PPid:\t812\n"
    "TracerPid:\t0\n"
    "CapInh:\t0000000000000000\n"
    "CapEff:\t00000000a80425fb\n"
    "CapBnd:\t000001ffffffffff\n";

TEST(ProcStatus, FindsAFieldByItsWholeName) {
  EXPECT_EQ(proc_status_field(kStatus, "State"), "S (sleeping)");
  EXPECT_EQ(proc_status_field(kStatus, "Pid"), std::nullopt);  // not TracerPid's or PPid's tail
  EXPECT_EQ(proc_status_field(kStatus, "Cap"), std::nullopt);
  EXPECT_EQ(proc_status_field("", "PPid"), std::nullopt);
}

TEST(ProcStatus, ReadsNumbers) {
  EXPECT_EQ(proc_status_number(kStatus, "PPid"), 812);
  EXPECT_EQ(proc_status_number(kStatus, "Tgid"), 4242);
  EXPECT_EQ(proc_status_number(kStatus, "Name"), std::nullopt);
  EXPECT_EQ(proc_status_number("PPid:\n", "PPid"), std::nullopt);
}

TEST(ProcStatus, ReadsCapabilitySets) {
  EXPECT_EQ(proc_status_has_capability(kStatus, "CapEff", 0), true);     // CAP_CHOWN
  EXPECT_EQ(proc_status_has_capability(kStatus, "CapEff", 24), false);   // CAP_SYS_RESOURCE
  EXPECT_EQ(proc_status_has_capability(kStatus, "CapBnd", 21), true);    // CAP_SYS_ADMIN
  EXPECT_EQ(proc_status_has_capability(kStatus, "CapInh", 21), false);
  EXPECT_EQ(proc_status_has_capability(kStatus, "CapBnd", 64), false);
  EXPECT_EQ(proc_status_has_capability(kStatus, "CapAmb", 0), std::nullopt);
  EXPECT_EQ(proc_status_has_capability("CapEff:\tzz\n", "CapEff", 0), std::nullopt);
}

TEST(ProcStatus, ReadsOurOwnStatus) {
  Result<std::string> status = read_proc_status(::getpid());
  ASSERT_TRUE(status) << status.error().describe();
  EXPECT_EQ(proc_status_number(*status, "Tgid"), ::getpid());
  EXPECT_EQ(proc_status_number(*status, "PPid"), ::getppid());
}

}  // namespace
}  // namespace dockmig::base
