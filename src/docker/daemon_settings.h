// Where a dockerd older than 27 keeps its containerd. Such a daemon's GET /info does not
// name it (the Containerd field came with API 1.46), so it is read from the daemon's own
// settings, its command line and config file, found through the peer of its API socket,
// and derived from them the way dockerd derives it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/engine_client.h"
#include "dockmig/result.h"

namespace dockmig::docker {

/// The containerd a dockerd with these command-line arguments (without argv[0]) and this
/// config file's content (daemon.json; null when it has none) uses: `--containerd` or
/// "containerd", else the one it starts itself, `<exec-root>/containerd/containerd.sock`
/// (exec root `--exec-root`, "exec-root", else /var/run/docker); the namespace of its
/// containers `--containerd-namespace`, "containerd-namespace", else moby. A flag wins
/// over the file, as in dockerd.
ContainerdStore containerd_from_settings(const std::vector<std::string>& args, const nlohmann::json& config);

/// The config file a dockerd with these arguments reads: `--config-file`, else
/// /etc/docker/daemon.json.
std::string config_file_of(const std::vector<std::string>& args);

/// The pid of the process that serves the unix socket at `socket_path` (SO_PEERCRED).
Result<pid_t> socket_peer_pid(const std::string& socket_path);

/// The containerd of the dockerd that serves `socket_path`, from that process's settings;
/// an error when its socket is not there.
Result<ContainerdStore> containerd_of_daemon_at(const std::string& socket_path);

}  // namespace dockmig::docker
