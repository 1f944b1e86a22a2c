#include "migrate/create_policy.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

json body_with(json host_config) { return {{"Image", "busybox"}, {"HostConfig", std::move(host_config)}}; }

std::vector<std::string> settings_refused(const json& host_config, const CreatePolicy& policy = {}) {
  std::vector<std::string> settings;
  for (const PolicyViolation& violation : check_create(body_with(host_config), policy))
    settings.push_back(violation.setting + " -> " + violation.opens);
  return settings;
}

TEST(CreatePolicy, WhatASourceSendsForAnOrdinaryContainerPasses) {
  json host = {{"NetworkMode", "default"}, {"RestartPolicy", {{"Name", "no"}}}, {"CapAdd", nullptr},
               {"CapDrop", {"NET_RAW"}}, {"SecurityOpt", nullptr}, {"Tmpfs", {{"/run", ""}}}};
  EXPECT_TRUE(settings_refused(host).empty());
  EXPECT_TRUE(check_create({{"Image", "busybox"}}, {}).empty());
  EXPECT_TRUE(settings_refused({{"CapAdd", {"chown", "CAP_KILL"}}, {"Binds", {"data:/data"}}}).empty());
}

TEST(CreatePolicy, ClosedByDefaultNamingEachSettingAndItsOption) {
  json host = {{"Privileged", true},
               {"Binds", {"/:/host:rw"}},
               {"Devices", {{{"PathOnHost", "/dev/sda"}}}},
               {"CapAdd", {"SYS_ADMIN"}},
               {"PidMode", "host"},
               {"SecurityOpt", {"seccomp=unconfined"}}};
  EXPECT_EQ(settings_refused(host), (std::vector<std::string>{
                                        "HostConfig.Privileged -> --allow privileged",
                                        "HostConfig.Binds -> --allow-bind /",
                                        "HostConfig.Devices -> --allow devices",
                                        "HostConfig.CapAdd -> --allow cap:SYS_ADMIN",
                                        "HostConfig.PidMode -> --allow host-namespaces",
                                        "HostConfig.SecurityOpt -> --allow unconfined",
                                    }));
}

TEST(CreatePolicy, AllowOpensEachSetting) {
  CreatePolicy policy;
  for (const char* word : {"privileged", "devices", "host-namespaces", "unconfined", "cap:sys_admin"})
    ASSERT_TRUE(allow(policy, word)) << word;
  ASSERT_TRUE(allow_bind(policy, "/"));
  json host = {{"Privileged", true}, {"Binds", {"/:/host"}}, {"Devices", {{{"PathOnHost", "/dev/sda"}}}},
               {"CapAdd", {"CAP_SYS_ADMIN"}}, {"NetworkMode", "host"}, {"SecurityOpt", {"apparmor=unconfined"}}};
  EXPECT_TRUE(settings_refused(host, policy).empty());
}

TEST(CreatePolicy, BindsOnlyUnderAnAllowedDirectory) {
  CreatePolicy policy;
  ASSERT_TRUE(allow_bind(policy, "/srv/data/"));
  EXPECT_TRUE(settings_refused({{"Binds", {"/srv/data:/data", "/srv/data/a/b:/b:ro"}}}, policy).empty());
  EXPECT_EQ(settings_refused({{"Binds", {"/srv/data2:/d"}}}, policy).size(), 1u);
  EXPECT_EQ(settings_refused({{"Binds", {"/srv/data/../../etc:/etc"}}}, policy),
            (std::vector<std::string>{"HostConfig.Binds -> --allow-bind /etc"}));
  json mounts = {{{"Type", "bind"}, {"Source", "/srv/data/x"}, {"Target", "/x"}},
                 {{"Type", "bind"}, {"Source", "/etc"}, {"Target", "/etc"}}};
  EXPECT_EQ(settings_refused({{"Mounts", mounts}}, policy),
            (std::vector<std::string>{"HostConfig.Mounts -> --allow-bind /etc"}));
}

TEST(CreatePolicy, VolumesThatCouldBindTheHostAreRefused) {
  json plain = {{{"Type", "volume"}, {"Source", "data"}, {"Target", "/data"}}};
  EXPECT_TRUE(settings_refused({{"Mounts", plain}}).empty());
  json driver = {{{"Type", "volume"}, {"Target", "/h"},
                  {"VolumeOptions", {{"DriverConfig", {{"Name", "local"}, {"Options", {{"o", "bind"}, {"device", "/"}}}}}}}}};
  EXPECT_EQ(settings_refused({{"Mounts", driver}}), (std::vector<std::string>{"HostConfig.Mounts -> "}));
  EXPECT_EQ(settings_refused({{"VolumesFrom", {"other"}}}), (std::vector<std::string>{"HostConfig.VolumesFrom -> "}));
}

TEST(CreatePolicy, ValuesOfUnexpectedTypesAreRefusedNotSkipped) {
  EXPECT_EQ(settings_refused({{"Privileged", "true"}}).size(), 1u);
  EXPECT_EQ(settings_refused({{"Binds", "/:/host"}}).size(), 1u);
  EXPECT_EQ(settings_refused({{"CapAdd", {7}}}).size(), 1u);
  EXPECT_EQ(settings_refused({{"NetworkMode", 1}}).size(), 1u);
  EXPECT_EQ(check_create({{"HostConfig", "privileged"}}, {}).size(), 1u);
  EXPECT_EQ(check_create(json::array(), {}).size(), 1u);
  CreatePolicy open;
  ASSERT_TRUE(allow(open, "privileged"));
  EXPECT_EQ(settings_refused({{"Privileged", 1}}, open).size(), 1u);
}

TEST(CreatePolicy, JoiningAnotherContainersNamespacesIsAHostNamespace) {
  EXPECT_EQ(settings_refused({{"NetworkMode", "container:db"}, {"IpcMode", "host"}}).size(), 2u);
  EXPECT_TRUE(settings_refused({{"NetworkMode", "bridge"}, {"IpcMode", "private"}}).empty());
}

TEST(CreatePolicy, RefusalIsBadInputNamingEverySetting) {
  Status refused = refuse_violations(check_create(body_with({{"Privileged", true}, {"Binds", {"/:/h"}}}), {}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(refused.error().message.find("`HostConfig.Privileged` true (opened by `dockmig serve --allow privileged`)"),
            std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("`HostConfig.Binds` `/:/h`"), std::string::npos);
  EXPECT_TRUE(refuse_violations({}));
}

TEST(CreatePolicy, ServeOptionsAreChecked) {
  CreatePolicy policy;
  EXPECT_FALSE(allow(policy, "everything"));
  EXPECT_FALSE(allow(policy, "cap:"));
  EXPECT_FALSE(allow_bind(policy, "srv/data"));
  EXPECT_FALSE(allow_bind(policy, "/srv/../.."));
  ASSERT_TRUE(allow(policy, "cap:cap_net_admin"));
  EXPECT_EQ(policy.extra_caps, (std::vector<std::string>{"NET_ADMIN"}));
}

}  // namespace
}  // namespace dockmig::migrate
