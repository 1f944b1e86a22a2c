#include "migrate/attached_volumes.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

const AttachedVolume kNfs{"media", "local", json::parse(R"({"type": "nfs", "o": "addr=10.0.0.5", "device": ":/x"})"),
                          json::parse(R"({"app": "web"})")};
const AttachedVolume kShared{"shared", "vieux/sshfs:latest", json::object(), json::object()};

Result<std::vector<AttachedVolume>> read(const json& list) {
  json prepare = {{"type", "prepare"}, {"attached_volumes", list}};
  PeerMessage fields(prepare);
  return read_attached_volumes(fields);
}

TEST(AttachedVolumes, CrossTheWireUnchanged) {
  Result<std::vector<AttachedVolume>> volumes = read(attached_volumes_json({kNfs, kShared}));
  ASSERT_TRUE(volumes) << volumes.error().describe();
  ASSERT_EQ(volumes->size(), 2u);
  EXPECT_EQ((*volumes)[0].name, "media");
  EXPECT_EQ((*volumes)[0].options, kNfs.options);
  EXPECT_EQ((*volumes)[0].labels, kNfs.labels);
  EXPECT_EQ((*volumes)[1].driver, "vieux/sshfs:latest");
}

TEST(AttachedVolumes, AnOlderSourceSendsNone) {
  json prepare = {{"type", "prepare"}};
  PeerMessage fields(prepare);
  Result<std::vector<AttachedVolume>> volumes = read_attached_volumes(fields);
  ASSERT_TRUE(volumes);
  EXPECT_TRUE(volumes->empty());
}

TEST(AttachedVolumes, MalformedEntriesAreProtocolErrors) {
  for (const char* list : {R"([{"name": "../x", "driver": "local"}])", R"([{"name": "a", "driver": "bad driver"}])",
                           R"([{"name": "a", "driver": "local", "options": {"o": 1}}])",
                           R"([{"name": "a", "driver": "local", "labels": {"k": true}}])",
                           R"([{"name": "a", "driver": "local"}, {"name": "a", "driver": "local"}])",
                           R"([{"driver": "local"}])"})
    EXPECT_FALSE(read(json::parse(list))) << list;
}

TEST(AttachedVolumes, ANameBothCopiedAndAttachedIsAProtocolError) {
  EXPECT_FALSE(distinct_volume_names({VolumeSpec{"media"}}, {kNfs}));
  EXPECT_TRUE(distinct_volume_names({VolumeSpec{"pgdata"}}, {kNfs}));
}

TEST(AttachBlocker, AMissingNetworkFileSystemVolumeIsMadeHere) { EXPECT_EQ(attach_blocker(kNfs, nullptr), ""); }

TEST(AttachBlocker, AMissingVolumeOfAnotherDriverIsRefusedNamingItAndTheDriver) {
  std::string blocker = attach_blocker(kShared, nullptr);
  EXPECT_NE(blocker.find("volume `shared` of the `vieux/sshfs:latest` driver is not reachable"), std::string::npos)
      << blocker;
}

TEST(AttachBlocker, AnExistingVolumeOfTheSameDriverIsAttached) {
  json here = {{"Name", "shared"}, {"Driver", "vieux/sshfs:latest"}, {"Options", nullptr}};
  EXPECT_EQ(attach_blocker(kShared, &here), "");
  json same = {{"Name", "media"}, {"Driver", "local"}, {"Options", kNfs.options}};
  EXPECT_EQ(attach_blocker(kNfs, &same), "");
}

TEST(AttachBlocker, AnExistingVolumeOfAnotherDriverOrOtherOptionsIsRefused) {
  json local = {{"Name", "shared"}, {"Driver", "local"}};
  EXPECT_NE(attach_blocker(kShared, &local).find("exists at the destination with the `local` driver"),
            std::string::npos);
  json elsewhere = {{"Name", "media"}, {"Driver", "local"}, {"Options", {{"type", "nfs"}, {"device", ":/y"}}}};
  EXPECT_NE(attach_blocker(kNfs, &elsewhere).find("other driver options"), std::string::npos);
}

TEST(AttachBlocker, APeerMayNotHaveALocalVolumeOfAHostPathMade) {
  AttachedVolume bound{"bound", "local", json::parse(R"({"type": "none", "o": "bind", "device": "/etc"})")};
  EXPECT_NE(attach_blocker(bound, nullptr).find("not a network file system's"), std::string::npos);
  AttachedVolume plain{"plain", "local", json::object()};
  json here = {{"Name", "plain"}, {"Driver", "local"}, {"Options", json::object()}};
  EXPECT_NE(attach_blocker(plain, nullptr), "");
  EXPECT_NE(attach_blocker(plain, &here), "");  // its data here, handed to the peer's container uncopied
}

TEST(RequireAttachingDestination, AnOlderDestinationIsRefusedOnlyWhenAVolumeIsAttached) {
  EXPECT_TRUE(require_attaching_destination({}, false));
  EXPECT_TRUE(require_attaching_destination({kNfs}, true));
  Status refused = require_attaching_destination({kNfs}, false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("`media`"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace dockmig::migrate
