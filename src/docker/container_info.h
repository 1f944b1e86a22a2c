#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace dockmig::docker {

/// One entry of the inspect's Mounts: a volume, a bind or a tmpfs.
struct Mount {
  std::string type;         // "volume", "bind", "tmpfs", ...
  std::string name;         // a volume's name (an anonymous one's is 64 hex digits); "" for others
  std::string driver;       // a volume's driver
  std::string source;       // on this host: a bind's path, a local volume's data dir
  std::string destination;  // in the container
  bool read_write = true;
};

/// What a migration needs to know about a container, parsed from GET /containers/{id}/json.
struct ContainerInfo {
  std::string id;
  std::string name;            // without the leading '/'
  std::string image_ref;       // Config.Image, as the user named it
  std::string image_id;        // sha256:…
  bool running = false;
  bool paused = false;
  int pid = 0;                 // State.Pid: its first process, on this host
  std::string started_at;      // State.StartedAt: changes when it restarts
  bool tty = false;
  bool privileged = false;
  std::string network_mode;
  std::string pid_mode;  // HostConfig.PidMode: "" (its own), "host", "container:ID"
  std::string ipc_mode;  // HostConfig.IpcMode: "private", "shareable", "host", "container:ID"
  std::string uts_mode;  // HostConfig.UTSMode: "" or "host"
  bool auto_remove = false;  // --rm
  bool init = false;         // --init
  std::string storage_driver;  // GraphDriver.Name
  std::string upper_dir;       // GraphDriver.Data.UpperDir
  std::vector<Mount> mounts;
  std::vector<nlohmann::json> tmpfs_mounts;  // HostConfig.Mounts of type tmpfs, verbatim
  nlohmann::json config;       // Config, verbatim: recreated as is at the destination
  nlohmann::json host_config;  // HostConfig, verbatim
};

/// A pure parser: unit-tested on recorded responses.
Result<ContainerInfo> parse_container(const nlohmann::json& inspect);

/// Whether an inspect answer says the container runs (false when State is missing or odd).
bool is_running(const nlohmann::json& inspect);

/// One of a container's addresses on a Docker network, from NetworkSettings.Networks.
struct NetworkAddress {
  std::string ipv4;
  std::string mac;
};

/// The container's IPv4 addresses with their MACs (networks without either are left out).
std::vector<NetworkAddress> network_addresses(const nlohmann::json& inspect);

/// Whether a namespace mode ("host", "container:ID") shares another's namespace.
bool shares_a_namespace(const std::string& mode);

/// Why this container cannot be live-migrated yet, or empty when it can.
std::vector<std::string> migration_blockers(const ContainerInfo& info);

/// Where each bind mount's source path is at the destination, by its path here.
using BindSources = std::map<std::string, std::string>;

/// The body of POST /containers/create that recreates `info` on another host: the same
/// image and configuration (command, entrypoint, env, working dir, user, labels, ports,
/// restart policy, hostname), with only the host settings that can move, and the same
/// mounts: volumes by name, binds from their path in `bind_sources` (else their own).
nlohmann::json create_request(const ContainerInfo& info, const BindSources& bind_sources = {});

}  // namespace dockmig::docker
