#include "docker/daemon_settings.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace dockmig::docker {
namespace {

using nlohmann::json;

TEST(ContainerdFromSettings, ADaemonWithNoSettingsUsesTheContainerdItStarts) {
  ContainerdStore store = containerd_from_settings({"-H", "fd://"}, json());
  EXPECT_EQ(store.address, "/var/run/docker/containerd/containerd.sock");
  EXPECT_EQ(store.containers_namespace, "moby");
}

TEST(ContainerdFromSettings, ItsOwnContainerdLivesUnderItsExecRoot) {
  EXPECT_EQ(containerd_from_settings({"--exec-root", "/run/bed/exec"}, json()).address,
            "/run/bed/exec/containerd/containerd.sock");
  EXPECT_EQ(containerd_from_settings({}, json{{"exec-root", "/run/x"}}).address, "/run/x/containerd/containerd.sock");
}

TEST(ContainerdFromSettings, ANamedContainerdWinsAndAFlagWinsOverTheFile) {
  json config{{"containerd", "/run/file.sock"}, {"containerd-namespace", "filens"}};
  ContainerdStore from_file = containerd_from_settings({"--exec-root=/run/x"}, config);
  EXPECT_EQ(from_file.address, "/run/file.sock");
  EXPECT_EQ(from_file.containers_namespace, "filens");
  ContainerdStore from_flags =
      containerd_from_settings({"--containerd=/run/containerd/containerd.sock", "--containerd-namespace", "ns"}, config);
  EXPECT_EQ(from_flags.address, "/run/containerd/containerd.sock");
  EXPECT_EQ(from_flags.containers_namespace, "ns");
}

TEST(ConfigFileOf, IsTheFlagElseDockersDefault) {
  EXPECT_EQ(config_file_of({"--config-file", "/run/bed/daemon.json"}), "/run/bed/daemon.json");
  EXPECT_EQ(config_file_of({"--config-file=/a.json"}), "/a.json");
  EXPECT_EQ(config_file_of({"--debug"}), "/etc/docker/daemon.json");
}

TEST(SocketPeerPid, IsTheListeningProcess) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("dockmig-peer-" + std::to_string(getpid()));
  std::filesystem::remove(path);
  base::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  Result<pid_t> pid = socket_peer_pid(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(pid) << pid.error().message;
  EXPECT_EQ(*pid, getpid());
  EXPECT_FALSE(socket_peer_pid(path));
}

}  // namespace
}  // namespace dockmig::docker
