#include "docker/restore_support.h"

#include <gtest/gtest.h>

namespace dockmig::docker {
namespace {

using nlohmann::json;

TEST(EngineMajorVersion, ReadsTheLeadingNumber) {
  EXPECT_EQ(engine_major_version("20.10.24+dfsg1"), 20);
  EXPECT_EQ(engine_major_version("28.5.2+dfsg4"), 28);
  EXPECT_EQ(engine_major_version("26.1.5"), 26);
  EXPECT_FALSE(engine_major_version(""));
  EXPECT_FALSE(engine_major_version("dev"));
}

TEST(RestoreBlocker, OlderDockersRestoreNetworkedContainers) {
  json networked = {{"Image", "tiny"}, {"HostConfig", {{"NetworkMode", "default"}}}};
  EXPECT_EQ(restore_blocker("20.10.24+dfsg1", "28.5.2+dfsg4", networked), "");
  EXPECT_EQ(restore_blocker("26.1.5", "20.10.24+dfsg1", networked), "");
}

// Measured on the bed: trixie's Docker 26.1 (runc 1.1.15) restores networked and
// networkless counters from 20.10, 26.1 and 28.5.
TEST(RestoreBlocker, Docker26RestoresCheckpointsOfEveryReleaseOnTheBed) {
  json networked = {{"Image", "tiny"}};
  json networkless = {{"Image", "tiny"}, {"NetworkDisabled", true}};
  for (const char* source : {"20.10.24+dfsg1", "26.1.5+dfsg1", "28.5.2+dfsg4", ""}) {
    EXPECT_EQ(restore_blocker("26.1.5+dfsg1", source, networked), "") << source;
    EXPECT_EQ(restore_blocker("26.1.5+dfsg1", source, networkless), "") << source;
  }
}

TEST(RestoreBlocker, Docker27AndNewerRefuseANetworkedContainerWithTheCause) {
  json networked = {{"Image", "tiny"}, {"NetworkDisabled", false}};
  std::string why = restore_blocker("28.5.2+dfsg4", "28.5.2+dfsg4", networked);
  EXPECT_NE(why.find("Docker 28.5.2+dfsg4"), std::string::npos) << why;
  EXPECT_NE(why.find("/proc/0/ns/net"), std::string::npos) << why;
  EXPECT_NE(restore_blocker("27.0.1", "27.0.1", json::object()), "");
}

TEST(RestoreBlocker, Docker28RestoresAContainerWithoutNetworkingFromDocker27OrNewer) {
  json networkless = {{"Image", "tiny"}, {"NetworkDisabled", true}};
  EXPECT_EQ(restore_blocker("28.5.2+dfsg4", "28.5.2+dfsg4", networkless), "");
  EXPECT_EQ(restore_blocker("28.5.2+dfsg4", "27.3.1", networkless), "");
}

TEST(RestoreBlocker, Docker28RefusesACheckpointOfDocker20OrOfASourceThatDidNotSay) {
  json networkless = {{"Image", "tiny"}, {"NetworkDisabled", true}};
  std::string why = restore_blocker("28.5.2+dfsg4", "20.10.24+dfsg1", networkless);
  EXPECT_NE(why.find("source's Docker 20.10.24+dfsg1"), std::string::npos) << why;
  EXPECT_NE(restore_blocker("28.5.2+dfsg4", "", networkless).find("did not say"), std::string::npos);
}

// Measured: CRIU under runc 1.3 finds no mapping for a mount that 26.1's runc 1.1 dumped
// as external, as with 20.10's.
TEST(RestoreBlocker, Docker28RefusesACheckpointOfDocker26) {
  json networkless = {{"Image", "tiny"}, {"NetworkDisabled", true}};
  std::string why = restore_blocker("28.5.2+dfsg4", "26.1.5+dfsg1", networkless);
  EXPECT_NE(why.find("source's Docker 26.1.5+dfsg1"), std::string::npos) << why;
}

TEST(RestoreBlocker, AnUnreadableDestinationVersionIsNotRefused) {
  EXPECT_EQ(restore_blocker("dev", "", json::object()), "");
}

}  // namespace
}  // namespace dockmig::docker
