// Turns dockerd's inspect JSON into a ContainerInfo, decides what cannot be migrated yet,
// and builds the create request for the destination. Config is recreated verbatim (it is
// what the user asked for); HostConfig only in the parts that mean the same on any host,
// because resources such as cgroup parents or device paths belong to the source.
#include "docker/container_info.h"

#include "docker/writable_layer.h"

namespace dockmig::docker {
namespace {

using nlohmann::json;

std::string string_at(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return "";
  const json& value = object.at(pointer);
  return value.is_string() ? value.get<std::string>() : "";
}

bool bool_at(const json& object, const json::json_pointer& pointer) {
  return object.contains(pointer) && object.at(pointer).is_boolean() && object.at(pointer).get<bool>();
}

Mount parse_mount(const json& mount) {
  if (!mount.is_object()) return {"?", "", "", "", "", true};
  return {string_at(mount, "/Type"_json_pointer),        string_at(mount, "/Name"_json_pointer),
          string_at(mount, "/Driver"_json_pointer),      string_at(mount, "/Source"_json_pointer),
          string_at(mount, "/Destination"_json_pointer), !mount.contains("RW") || bool_at(mount, "/RW"_json_pointer)};
}

// --mount type=tmpfs is not listed with its options in the inspect's Mounts; --tmpfs not at all.
std::vector<json> tmpfs_mounts(const json& host_config) {
  std::vector<json> found;
  json mounts = host_config.value("Mounts", json::array());
  if (!mounts.is_array()) return found;
  for (const json& mount : mounts)
    if (mount.is_object() && mount.value("Type", json()) == "tmpfs") found.push_back(mount);
  return found;
}

json mount_request(const Mount& mount, const BindSources& bind_sources) {
  auto mapped = bind_sources.find(mount.source);
  std::string source = mount.type == "volume" ? mount.name
                       : mapped != bind_sources.end() ? mapped->second
                                                      : mount.source;
  return {{"Type", mount.type}, {"Source", source}, {"Target", mount.destination}, {"ReadOnly", !mount.read_write}};
}

}  // namespace

std::vector<NetworkAddress> network_addresses(const json& inspect) {
  std::vector<NetworkAddress> addresses;
  json networks = inspect.value("/NetworkSettings/Networks"_json_pointer, json::object());
  if (!networks.is_object()) return addresses;
  for (const auto& [name, network] : networks.items()) {
    if (!network.is_object()) continue;
    NetworkAddress address{network.value("IPAddress", ""), network.value("MacAddress", "")};
    if (!address.ipv4.empty() && !address.mac.empty()) addresses.push_back(std::move(address));
  }
  return addresses;
}

bool is_running(const json& inspect) {
  auto state = inspect.is_object() ? inspect.find("State") : inspect.end();
  if (state == inspect.end() || !state->is_object()) return false;
  auto running = state->find("Running");
  return running != state->end() && running->is_boolean() && running->get<bool>();
}

Result<ContainerInfo> parse_container(const json& inspect) {
  if (!inspect.is_object() || !inspect.contains("Id") || !inspect.contains("Config"))
    return make_error(ErrorCode::ToolFailed, "container inspect data lacks Id or Config");
  ContainerInfo info;
  info.id = string_at(inspect, "/Id"_json_pointer);
  info.name = string_at(inspect, "/Name"_json_pointer);
  if (info.name.starts_with('/')) info.name.erase(0, 1);
  info.image_ref = string_at(inspect, "/Config/Image"_json_pointer);
  info.image_id = string_at(inspect, "/Image"_json_pointer);
  info.running = bool_at(inspect, "/State/Running"_json_pointer);
  info.paused = bool_at(inspect, "/State/Paused"_json_pointer);
  if (inspect.contains("/State/Pid"_json_pointer) && inspect.at("/State/Pid"_json_pointer).is_number_integer())
    info.pid = inspect.at("/State/Pid"_json_pointer).get<int>();
  info.started_at = string_at(inspect, "/State/StartedAt"_json_pointer);
  info.tty = bool_at(inspect, "/Config/Tty"_json_pointer);
  info.privileged = bool_at(inspect, "/HostConfig/Privileged"_json_pointer);
  info.network_mode = string_at(inspect, "/HostConfig/NetworkMode"_json_pointer);
  info.pid_mode = string_at(inspect, "/HostConfig/PidMode"_json_pointer);
  info.ipc_mode = string_at(inspect, "/HostConfig/IpcMode"_json_pointer);
  info.uts_mode = string_at(inspect, "/HostConfig/UTSMode"_json_pointer);
  info.auto_remove = bool_at(inspect, "/HostConfig/AutoRemove"_json_pointer);
  info.init = bool_at(inspect, "/HostConfig/Init"_json_pointer);
  info.storage_driver = string_at(inspect, "/GraphDriver/Name"_json_pointer);
  info.upper_dir = string_at(inspect, "/GraphDriver/Data/UpperDir"_json_pointer);
  info.config = inspect["Config"];
  info.host_config = inspect.value("HostConfig", json::object());
  json mounts = inspect.value("Mounts", json::array());
  if (mounts.is_array())
    for (const json& mount : mounts) info.mounts.push_back(parse_mount(mount));
  info.tmpfs_mounts = tmpfs_mounts(info.host_config);
  return info;
}

bool shares_a_namespace(const std::string& mode) { return mode == "host" || mode.starts_with("container:"); }

std::vector<std::string> migration_blockers(const ContainerInfo& info) {
  std::vector<std::string> reasons;
  if (!info.running) reasons.push_back("it is not running (only a running container is live-migrated)");
  if (info.paused) reasons.push_back("it is paused; unpause it first");
  if (info.tty) reasons.push_back("it has a TTY (-t), which Docker refuses to checkpoint");
  if (info.privileged) reasons.push_back("it is privileged, so it depends on this host's devices");
  if (shares_a_namespace(info.network_mode))
    reasons.push_back("its network mode is `" + info.network_mode + "`, tied to this host");
  if (shares_a_namespace(info.pid_mode))
    reasons.push_back("its pid mode is `" + info.pid_mode + "`: its processes are not its own to move");
  if (shares_a_namespace(info.ipc_mode))
    reasons.push_back("its IPC mode is `" + info.ipc_mode + "`: that namespace is not its own to move");
  if (shares_a_namespace(info.uts_mode))
    reasons.push_back("its UTS mode is `" + info.uts_mode + "`: that namespace is not its own to move");
  if (info.auto_remove)
    reasons.push_back("it runs with --rm: dockerd would remove it, checkpoint and all, as soon as the checkpoint "
                      "stops it, and a failed handoff could not resume it; run it without --rm");
  if (info.init)
    reasons.push_back("it runs with --init (Docker's docker-init as its first process): Docker cannot restore "
                      "such a checkpoint (`docker start --checkpoint` fails in CRIU's restore, here and on one "
                      "host alike); run it without --init");
  if (!is_supported_storage_driver(info.storage_driver))
    reasons.push_back("its storage driver is `" + info.storage_driver +
                      "`, not overlay2 nor containerd's overlayfs snapshotter");
  return reasons;
}

json create_request(const ContainerInfo& info, const BindSources& bind_sources) {
  json body = info.config;
  json host = json::object();
  // Every setting that is the container's own; the table in docs/design.md ("Every setting
  // kept") lists what is left out and why.
  for (const char* key : {"PortBindings", "RestartPolicy", "NetworkMode", "Init", "ShmSize",
                          "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd",
                          "Memory", "MemoryReservation", "MemorySwap", "MemorySwappiness", "OomScoreAdj",
                          "OomKillDisable", "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus",
                          "CpusetMems", "CpuRealtimePeriod", "CpuRealtimeRuntime", "BlkioWeight", "PidsLimit",
                          "Ulimits", "IpcMode", "UTSMode", "Runtime", "Isolation",
                          "SecurityOpt", "ReadonlyRootfs", "Tmpfs", "Sysctls", "LogConfig", "VolumeDriver"}) {
    if (info.host_config.contains(key) && !info.host_config[key].is_null())
      host[key] = info.host_config[key];
  }
  json mounts = json::array();
  for (const Mount& mount : info.mounts)
    if (mount.type == "volume" || mount.type == "bind") mounts.push_back(mount_request(mount, bind_sources));
  for (const json& tmpfs : info.tmpfs_mounts) mounts.push_back(tmpfs);
  if (!mounts.empty()) host["Mounts"] = mounts;
  body["HostConfig"] = host;
  return body;
}

}  // namespace dockmig::docker
