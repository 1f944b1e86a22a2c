#include "docker/container_info.h"

#include <gtest/gtest.h>

namespace dockmig::docker {
namespace {

using nlohmann::json;

// The shape of GET /containers/{id}/json from Docker 20.10, trimmed to what matters.
json running_container() {
  return json::parse(R"({
    "Id": "4f2c9d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
    "Name": "/web",
    "Image": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "State": {"Running": true, "Paused": false, "Pid": 4242},
    "GraphDriver": {"Name": "overlay2", "Data": {
      "LowerDir": "/var/lib/docker/overlay2/abc-init/diff:/var/lib/docker/overlay2/def/diff",
      "MergedDir": "/var/lib/docker/overlay2/abc/merged",
      "UpperDir": "/var/lib/docker/overlay2/abc/diff",
      "WorkDir": "/var/lib/docker/overlay2/abc/work"}},
    "Mounts": [],
    "Config": {"Hostname": "4f2c9d1e8a7b", "Image": "10.77.9.1:5000/dockmig/tiny:1",
               "Cmd": ["httpd", "-f", "-p", "80"], "Env": ["PATH=/bin"], "Tty": false,
               "Labels": {"app": "web"}, "WorkingDir": "/srv", "User": "",
               "ExposedPorts": {"80/tcp": {}}},
    "HostConfig": {"NetworkMode": "default", "Privileged": false,
                   "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                   "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                   "CgroupParent": "", "Binds": null}
  })");
}

TEST(ParseContainer, ReadsUpperDirImageAndState) {
  Result<ContainerInfo> info = parse_container(running_container());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "web");
  EXPECT_EQ(info->image_ref, "10.77.9.1:5000/dockmig/tiny:1");
  EXPECT_EQ(info->upper_dir, "/var/lib/docker/overlay2/abc/diff");
  EXPECT_EQ(info->storage_driver, "overlay2");
  EXPECT_TRUE(info->running);
  EXPECT_TRUE(migration_blockers(*info).empty());
}

TEST(ParseContainer, RejectsDataWithoutIdOrConfig) {
  EXPECT_FALSE(parse_container(json::object()));
  EXPECT_FALSE(parse_container(json::parse(R"({"Id": "x"})")));
}

TEST(MigrationBlockers, NameEveryReasonAContainerCannotMove) {
  json inspect = running_container();
  inspect["State"]["Running"] = false;
  inspect["Config"]["Tty"] = true;
  inspect["HostConfig"]["Privileged"] = true;
  inspect["HostConfig"]["NetworkMode"] = "host";
  inspect["HostConfig"]["PidMode"] = "host";
  inspect["HostConfig"]["IpcMode"] = "host";
  inspect["HostConfig"]["UTSMode"] = "container:abc";
  inspect["HostConfig"]["AutoRemove"] = true;
  inspect["HostConfig"]["Init"] = true;
  inspect["GraphDriver"]["Name"] = "vfs";
  std::vector<std::string> reasons = migration_blockers(*parse_container(inspect));
  ASSERT_EQ(reasons.size(), 10u);
  EXPECT_NE(reasons[0].find("not running"), std::string::npos);
  EXPECT_NE(reasons[4].find("pid mode is `host`"), std::string::npos);
  EXPECT_NE(reasons[5].find("IPC mode is `host`"), std::string::npos);
  EXPECT_NE(reasons[6].find("UTS mode is `container:abc`"), std::string::npos);
  EXPECT_NE(reasons[7].find("--rm"), std::string::npos);
  EXPECT_NE(reasons[8].find("--init"), std::string::npos);
  inspect["HostConfig"]["Init"] = nullptr;  // Docker's answers when --init and --ipc were not given
  inspect["HostConfig"]["IpcMode"] = "private";
  EXPECT_EQ(migration_blockers(*parse_container(inspect)).size(), 8u);
}

// A volume, a read-only bind and a --mount tmpfs, as dockerd shows them.
json container_with_mounts() {
  json inspect = running_container();
  inspect["Mounts"] = json::parse(R"([
    {"Type": "volume", "Name": "pgdata", "Driver": "local", "Source": "/var/lib/docker/volumes/pgdata/_data",
     "Destination": "/data", "RW": true},
    {"Type": "bind", "Source": "/srv/conf", "Destination": "/conf", "RW": false},
    {"Type": "tmpfs", "Source": "", "Destination": "/scratch", "RW": true}])");
  inspect["HostConfig"]["Mounts"] = json::parse(R"([{"Type": "tmpfs", "Target": "/scratch"}])");
  return inspect;
}

TEST(ParseContainer, ReadsEachMountAndTheTmpfsMountsOfHostConfig) {
  json inspect = container_with_mounts();
  inspect["Mounts"].push_back("not an object");
  inspect["HostConfig"]["Mounts"].push_back({{"Type", "bind"}});
  ContainerInfo info = *parse_container(inspect);
  ASSERT_EQ(info.mounts.size(), 4u);
  EXPECT_EQ(info.mounts[0].name, "pgdata");
  EXPECT_EQ(info.mounts[0].driver, "local");
  EXPECT_TRUE(info.mounts[0].read_write);
  EXPECT_FALSE(info.mounts[1].read_write);
  EXPECT_EQ(info.mounts[3].type, "?");
  ASSERT_EQ(info.tmpfs_mounts.size(), 1u);
  EXPECT_EQ(info.tmpfs_mounts[0]["Target"], "/scratch");
}

TEST(CreateRequest, MountsVolumesByNameBindsByTheirMappedPathAndKeepsTmpfs) {
  json mounts =
      create_request(*parse_container(container_with_mounts()), {{"/srv/conf", "/edge/conf"}})["HostConfig"]["Mounts"];
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0], json::parse(R"({"Type": "volume", "Source": "pgdata", "Target": "/data", "ReadOnly": false})"));
  EXPECT_EQ(mounts[1], json::parse(R"({"Type": "bind", "Source": "/edge/conf", "Target": "/conf", "ReadOnly": true})"));
  EXPECT_EQ(mounts[2], json::parse(R"({"Type": "tmpfs", "Target": "/scratch"})"));
}

TEST(CreateRequest, KeepsConfigAndOnlyPortableHostSettings) {
  json request = create_request(*parse_container(running_container()));
  EXPECT_EQ(request["Cmd"], json::parse(R"(["httpd", "-f", "-p", "80"])"));
  EXPECT_EQ(request["Labels"]["app"], "web");
  EXPECT_EQ(request["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
  EXPECT_EQ(request["HostConfig"]["RestartPolicy"]["Name"], "no");
  EXPECT_FALSE(request["HostConfig"].contains("CgroupParent"));
  EXPECT_FALSE(request["HostConfig"].contains("Binds"));
}

TEST(NetworkAddresses, ListsEachNetworkWithAnAddressAndAMac) {
  json inspect = json::parse(R"({"NetworkSettings": {"Networks": {
    "bridge": {"IPAddress": "172.17.0.2", "MacAddress": "02:42:ac:11:00:02"},
    "none": {"IPAddress": "", "MacAddress": ""}}}})");
  std::vector<NetworkAddress> addresses = network_addresses(inspect);
  ASSERT_EQ(addresses.size(), 1u);
  EXPECT_EQ(addresses[0].ipv4, "172.17.0.2");
  EXPECT_EQ(addresses[0].mac, "02:42:ac:11:00:02");
  EXPECT_TRUE(network_addresses(json::parse(R"({"NetworkSettings": {"Networks": null}})")).empty());
  EXPECT_TRUE(network_addresses(json::object()).empty());
}

TEST(IsRunning, ReadsStateRunningAndNothingElse) {
  EXPECT_TRUE(is_running(nlohmann::json::parse(R"({"State":{"Running":true}})")));
  EXPECT_FALSE(is_running(nlohmann::json::parse(R"({"State":{"Running":false}})")));
  EXPECT_FALSE(is_running(nlohmann::json::parse(R"({"State":{"Running":"yes"}})")));
  EXPECT_FALSE(is_running(nlohmann::json::parse(R"({"State":"running"})")));
  EXPECT_FALSE(is_running(nlohmann::json::parse(R"({})")));
}

}  // namespace
}  // namespace dockmig::docker
