#include "migrate/mounts.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

docker::Mount volume(const std::string& name, const std::string& driver = "local") {
  return {"volume", name, driver, "/var/lib/docker/volumes/" + name + "/_data", "/data", true};
}

docker::Mount bind(const std::string& source) { return {"bind", "", "", source, "/conf", true}; }

TEST(BindMapping, ParsesTwoAbsolutePathsNormalized) {
  Result<BindMapping> mapping = parse_bind_mapping("/srv/conf/=/edge//conf");
  ASSERT_TRUE(mapping) << mapping.error().describe();
  EXPECT_EQ(*mapping, (BindMapping{"/srv/conf", "/edge/conf"}));
}

TEST(BindMapping, RefusesAMissingEqualsARelativePathAndAClimb) {
  for (const char* text : {"/srv/conf", "srv=/edge", "/srv=edge", "/srv/../etc=/edge", "=/edge"})
    EXPECT_FALSE(parse_bind_mapping(text)) << text;
}

TEST(MountBlocker, AnUnmappedBindIsRefusedNamingItsPathAndTheFlag) {
  std::string blocker = mount_blocker(bind("/srv/conf"), {});
  EXPECT_NE(blocker.find("`/srv/conf`"), std::string::npos) << blocker;
  EXPECT_NE(blocker.find("--bind-map /srv/conf=DST"), std::string::npos) << blocker;
  EXPECT_EQ(mount_blocker(bind("/srv/conf"), {{"/srv/conf", "/edge/conf"}}), "");
}

TEST(MountBlocker, VolumesAndTmpfsPassOtherTypesAreRefused) {
  EXPECT_EQ(mount_blocker(volume("pgdata"), {}), "");
  EXPECT_EQ(mount_blocker(volume("shared", "nfs-plugin"), {}), "");  // volume_move decides
  EXPECT_EQ(mount_blocker({"tmpfs", "", "", "", "/scratch", true}, {}), "");
  EXPECT_NE(mount_blocker({"npipe", "", "", "x", "/p", true}, {}).find("type `npipe`"), std::string::npos);
}

VolumeFacts with_options(const char* options) {
  return {json::parse(std::string(R"({"Driver": "local", "Options": )") + options + "}"), {}};
}

TEST(LocalVolumeKind, ClassifiesEachKindOfDriverOptions) {
  EXPECT_EQ(local_volume_kind(json()), LocalVolumeKind::Plain);
  EXPECT_EQ(local_volume_kind(json::object()), LocalVolumeKind::Plain);
  EXPECT_EQ(local_volume_kind(json::parse(R"({"type": "tmpfs", "device": "tmpfs", "o": "size=64m"})")),
            LocalVolumeKind::Tmpfs);
  for (const char* options : {R"({"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/export"})",
                              R"({"type": "nfs4", "device": "server:/export"})",
                              R"({"type": "cifs", "device": "//server/share", "o": "username=u"})",
                              R"({"type": "fuse.sshfs", "o": "rw,addr=10.0.0.7", "device": "x"})"})
    EXPECT_EQ(local_volume_kind(json::parse(options)), LocalVolumeKind::NetworkFs) << options;
  EXPECT_EQ(local_volume_kind(json::parse(R"({"type": "none", "o": "bind", "device": "/srv/x"})")),
            LocalVolumeKind::Bind);
  EXPECT_EQ(local_volume_kind(json::parse(R"({"type": "none", "o": "ro,rbind", "device": "/srv/x"})")),
            LocalVolumeKind::Bind);
  EXPECT_EQ(local_volume_kind(json::parse(R"({"type": "ext4", "device": "/dev/sdb1"})")), LocalVolumeKind::Other);
  // "address=" is not "addr=", nor a "bindings" option a bind.
  EXPECT_EQ(local_volume_kind(json::parse(R"({"type": "xfs", "o": "address=1,bindings", "device": "/dev/x"})")),
            LocalVolumeKind::Other);
}

TEST(VolumeMove, ALocalVolumeWithoutOptionsIsCopied) {
  EXPECT_EQ(volume_move(volume("pgdata"), {json::parse(R"({"Options": {}})"), {}}).way, VolumeMove::Way::Copy);
  EXPECT_EQ(volume_move(volume("pgdata"), {json::parse(R"({"Options": null})"), {}}).way, VolumeMove::Way::Copy);
}

TEST(VolumeMove, AVolumeOfAnotherRunningContainerIsRefusedNamingBoth) {
  VolumeMove move = volume_move(volume("pgdata"), {json::object(), {"backup"}});
  EXPECT_EQ(move.way, VolumeMove::Way::Refuse);
  EXPECT_NE(move.blocker.find("`pgdata`"), std::string::npos) << move.blocker;
  EXPECT_NE(move.blocker.find("`backup`"), std::string::npos) << move.blocker;
}

TEST(VolumeMove, ANetworkFileSystemIsAttachedEvenWhenShared) {
  VolumeFacts facts = with_options(R"({"type": "nfs", "o": "addr=10.0.0.5", "device": ":/export"})");
  facts.other_users = {"backup"};  // its data stays on the server: nothing splits
  EXPECT_EQ(volume_move(volume("media"), facts).way, VolumeMove::Way::Attach);
}

TEST(VolumeMove, AnotherDriversVolumeIsAttachedForTheDestinationToFind) {
  EXPECT_EQ(volume_move(volume("shared", "nfs-plugin"), {json::object(), {}}).way, VolumeMove::Way::Attach);
}

TEST(VolumeMove, ATmpfsVolumeIsRefusedSayingWhy) {
  VolumeMove move = volume_move(volume("scratch"), with_options(R"({"type": "tmpfs", "device": "tmpfs"})"));
  EXPECT_EQ(move.way, VolumeMove::Way::Refuse);
  EXPECT_NE(move.blocker.find("`scratch` is a tmpfs"), std::string::npos) << move.blocker;
  EXPECT_NE(move.blocker.find("--tmpfs"), std::string::npos) << move.blocker;
}

TEST(VolumeMove, ABindVolumeIsRefusedNamingItsHostPath) {
  VolumeMove move = volume_move(volume("bound"), with_options(R"({"type": "none", "o": "bind", "device": "/srv/x"})"));
  EXPECT_EQ(move.way, VolumeMove::Way::Refuse);
  EXPECT_NE(move.blocker.find("`bound`"), std::string::npos) << move.blocker;
  EXPECT_NE(move.blocker.find("host path `/srv/x`"), std::string::npos) << move.blocker;
  EXPECT_NE(move.blocker.find("--bind-map"), std::string::npos) << move.blocker;
}

TEST(VolumeMove, OtherDriverOptionsAreRefusedNamingThem) {
  VolumeMove move = volume_move(volume("disk"), with_options(R"({"type": "ext4", "device": "/dev/sdb1"})"));
  EXPECT_EQ(move.way, VolumeMove::Way::Refuse);
  EXPECT_NE(move.blocker.find("`disk`"), std::string::npos) << move.blocker;
  EXPECT_NE(move.blocker.find("/dev/sdb1"), std::string::npos) << move.blocker;
}

TEST(UnusedMappingBlocker, NamesAMappingNoBindUses) {
  std::vector<docker::Mount> mounts = {bind("/srv/conf"), volume("pgdata")};
  EXPECT_EQ(unused_mapping_blocker(mounts, {{"/srv/conf", "/edge/conf"}}), "");
  EXPECT_NE(unused_mapping_blocker(mounts, {{"/srv/typo", "/edge"}}).find("/srv/typo"), std::string::npos);
}

TEST(CopyBind, ParsesAnAbsolutePathNormalizedAndRefusesAClimb) {
  Result<std::string> source = parse_copy_bind("/srv//data/");
  ASSERT_TRUE(source) << source.error().describe();
  EXPECT_EQ(*source, "/srv/data");
  for (const char* text : {"srv/data", "/srv/../etc", ""}) EXPECT_FALSE(parse_copy_bind(text)) << text;
}

TEST(CopyBind, ACopiedBindMovesAndTheRefusalOfAnUnmappedOneNamesBothFlags) {
  EXPECT_EQ(mount_blocker(bind("/srv/conf"), {}, {"/srv/conf"}), "");
  std::string blocker = mount_blocker(bind("/srv/conf"), {}, {"/srv/other"});
  EXPECT_NE(blocker.find("--copy-bind /srv/conf"), std::string::npos) << blocker;
}

TEST(CopyBind, CopiesADirectoryAndRefusesAFileKernelStateAndDockersRoot) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "copy-bind-test";
  std::filesystem::create_directories(dir / "data");
  std::filesystem::create_directories(dir / "docker");
  std::ofstream(dir / "settings") << "x";
  EXPECT_EQ(copy_bind_blocker((dir / "data").string(), "/var/lib/docker"), "");
  std::string file = copy_bind_blocker((dir / "settings").string(), "/var/lib/docker");
  EXPECT_NE(file.find("is not a directory"), std::string::npos) << file;
  EXPECT_NE(file.find((dir / "settings").string()), std::string::npos) << file;
  for (const char* kernel : {"/proc/self", "/sys/kernel", "/dev", "/run"})
    EXPECT_NE(copy_bind_blocker(kernel, "/var/lib/docker").find("is under"), std::string::npos) << kernel;
  std::string daemon = copy_bind_blocker((dir / "docker").string(), dir.string());
  EXPECT_NE(daemon.find("is under"), std::string::npos) << daemon;
  EXPECT_NE(copy_bind_blocker("/", "/var/lib/docker"), "");
  EXPECT_NE(copy_bind_blocker((dir / "missing").string(), "/var/lib/docker").find("cannot be read"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(CopyBind, NamesACopyNoBindUsesAndAPathBothMappedAndCopied) {
  std::vector<docker::Mount> mounts = {bind("/srv/conf"), volume("pgdata")};
  EXPECT_EQ(unused_copy_bind_blocker(mounts, {}, {"/srv/conf"}), "");
  EXPECT_NE(unused_copy_bind_blocker(mounts, {}, {"/srv/typo"}).find("/srv/typo"), std::string::npos);
  EXPECT_NE(unused_copy_bind_blocker(mounts, {{"/srv/conf", "/edge"}}, {"/srv/conf"}).find("same bind mount"),
            std::string::npos);
}

TEST(VolumeUsers, ListsEachVolumesRunningContainersAndSkipsWhatIsMalformed) {
  json running = json::parse(R"([
    {"Names": ["/db"], "Mounts": [{"Name": "pgdata"}, {"Type": "bind"}]},
    {"Names": ["/backup"], "Mounts": [{"Name": "pgdata"}]},
    {"Names": 7, "Mounts": "odd"}, 3])");
  auto users = volume_users(running);
  EXPECT_EQ(users["pgdata"], (std::vector<std::string>{"db", "backup"}));
  EXPECT_EQ(users.size(), 1u);
}

TEST(VolumeName, AcceptsDockersNamesOnly) {
  EXPECT_TRUE(valid_volume_name("pgdata"));
  EXPECT_TRUE(valid_volume_name(std::string(64, 'a')));
  for (const char* name : {"", "../x", "a/b", "-x", ".x"}) EXPECT_FALSE(valid_volume_name(name)) << name;
}

}  // namespace
}  // namespace dockmig::migrate
