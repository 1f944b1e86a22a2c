#include "docker/daemon_settings.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "base/proc_status.h"
#include "base/text_file.h"
#include "base/unique_fd.h"

namespace dockmig::docker {
namespace {

// The value of `--name=V` or `--name V` among `args`; the last one given, as dockerd takes it.
std::optional<std::string> flag_value(const std::vector<std::string>& args, const std::string& name) {
  std::optional<std::string> value;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with(name + "=")) value = args[i].substr(name.size() + 1);
    else if (args[i] == name && i + 1 < args.size()) value = args[++i];
  }
  return value;
}

std::string setting(const std::vector<std::string>& args, const nlohmann::json& config, const std::string& key,
                    const std::string& fallback) {
  if (std::optional<std::string> flag = flag_value(args, "--" + key); flag && !flag->empty()) return *flag;
  if (config.is_object()) {
    auto found = config.find(key);
    if (found != config.end() && found->is_string() && !found->get<std::string>().empty()) return *found;
  }
  return fallback;
}

// A config file dockerd started without (it may have none) reads as no settings.
Result<nlohmann::json> config_of(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return nlohmann::json();
  Result<std::string> text = base::read_text_file(path);
  if (!text) return std::move(text.error());
  nlohmann::json config = nlohmann::json::parse(*text, nullptr, false);
  if (config.is_discarded()) return make_error(ErrorCode::InvalidInput, "`" + path + "` is not JSON");
  return config;
}

bool is_socket(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

ContainerdStore containerd_from_settings(const std::vector<std::string>& args, const nlohmann::json& config) {
  std::string exec_root = setting(args, config, "exec-root", "/var/run/docker");
  return {setting(args, config, "containerd", exec_root + "/containerd/containerd.sock"),
          setting(args, config, "containerd-namespace", "moby")};
}

std::string config_file_of(const std::vector<std::string>& args) {
  return flag_value(args, "--config-file").value_or("/etc/docker/daemon.json");
}

Result<pid_t> socket_peer_pid(const std::string& socket_path) {
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return make_error(ErrorCode::Io, std::string("socket(AF_UNIX): ") + std::strerror(errno));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path))
    return make_error(ErrorCode::InvalidInput, "socket path `" + socket_path + "` is too long");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    return make_error(ErrorCode::Network, "connect to `" + socket_path + "`: " + std::strerror(errno));
  ucred peer{};
  socklen_t size = sizeof(peer);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.pid <= 0)
    return make_error(ErrorCode::Io, "cannot tell which process serves `" + socket_path + "`: " +
                                         std::strerror(errno));
  return peer.pid;
}

Result<ContainerdStore> containerd_of_daemon_at(const std::string& socket_path) {
  Result<pid_t> pid = socket_peer_pid(socket_path);
  if (!pid) return std::move(pid.error());
  Result<std::vector<std::string>> args = base::process_arguments(*pid);
  if (!args) return std::move(args.error()).wrap("reading the command line of dockerd (pid " + std::to_string(*pid) + ")");
  std::string config_file = config_file_of(*args);
  Result<nlohmann::json> config = config_of(config_file);
  if (!config) return std::move(config.error()).wrap("reading dockerd's config file");
  ContainerdStore store = containerd_from_settings(*args, *config);
  if (!is_socket(store.address))
    return make_error(ErrorCode::NotFound,
                      "dockerd (pid " + std::to_string(*pid) + ") would use containerd at `" + store.address +
                          "` by its command line and " + config_file + ", but no socket is there",
                      "start dockerd with --containerd naming its containerd's socket");
  return store;
}

}  // namespace dockmig::docker
