// Plans a migration: which image layers the destination must find elsewhere (never sent
// when a registry or cache has them), how big the writable layer and the volumes are,
// which mounts cannot move (mounts.h), and how much memory the checkpoint will carry.
// Per-layer sizes come from the image history, whose entries with a non-zero size line
// up, in order, with RootFS.Layers.
#include "migrate/plan.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "base/byte_units.h"
#include "base/json_fields.h"
#include "docker/image_reference.h"
#include "docker/writable_layer.h"
#include "migrate/network_setup.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

// What a migration does with each kind of mount, for `dockmig inspect`.
constexpr const char* kVolumePlan =
    "recreated at the destination under its name; its data moves like the writable layer, most of it before the freeze";
constexpr const char* kAttachedVolumePlan =
    "nothing copied: its data stays where it is; the destination makes it with the same driver options, or finds it "
    "there with the same driver, checked before the freeze";
constexpr const char* kBindMapPlan = "nothing copied; the path must exist at the destination, checked before the freeze";
constexpr const char* kCopiedBindPlan = "copied like a volume into a directory the destination's agent makes";
constexpr const char* kTmpfsPlan = "its content travels in the checkpoint";

// Bytes of regular files and entries under `dir`: advice for the plan, never refused.
void size_tree(const std::string& dir, uint64_t& bytes, uint64_t& files) {
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    ++files;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) bytes += it->file_size(ec);
  }
}

Result<VolumeFacts> read_volume_facts(const docker::EngineClient& engine, const MigrationPlan& plan,
                                      const std::string& name, const json& running) {
  Result<json> inspect = engine.inspect_volume(name);
  if (!inspect) return std::move(inspect.error()).wrap("reading volume `" + name + "`");
  VolumeFacts facts{std::move(*inspect), {}};
  std::map<std::string, std::vector<std::string>> users = volume_users(running);
  for (const std::string& user : users[name])
    if (user != plan.container.name) facts.other_users.push_back(user);
  return facts;
}

MovedVolume moved_volume(const docker::Mount& mount, const VolumeFacts& facts) {
  MovedVolume volume{mount.name, mount.source, mount.destination};
  json labels = facts.inspect.value("Labels", json::object());
  if (labels.is_object()) volume.labels = labels;
  size_tree(volume.data_dir, volume.bytes, volume.files);
  return volume;
}

AttachedVolume attached_volume(const docker::Mount& mount, const VolumeFacts& facts) {
  return {mount.name, mount.driver, object_field(facts.inspect, "Options"), object_field(facts.inspect, "Labels")};
}

// A bind-mounted directory copied like a volume, or why it cannot be.
void plan_copied_bind(const docker::Mount& mount, MigrationPlan& plan) {
  if (std::string blocker = copy_bind_blocker(mount.source, plan.docker_root); !blocker.empty()) {
    plan.blockers.push_back(blocker);
    return;
  }
  MovedVolume copy{mount.source, mount.source, mount.destination};
  copy.bind = true;
  size_tree(copy.data_dir, copy.bytes, copy.files);
  plan.copied_binds.push_back(std::move(copy));
}

// Each mount's blocker, or for a local volume or a copied bind, what moves of it.
Status plan_mounts(const docker::EngineClient& engine, MigrationPlan& plan) {
  json running = json::array();
  for (const docker::Mount& mount : plan.container.mounts) {
    if (std::string blocker = mount_blocker(mount, plan.bind_map, plan.copy_binds); !blocker.empty()) {
      plan.blockers.push_back(blocker);
      continue;
    }
    if (mount.type == "bind" && std::find(plan.copy_binds.begin(), plan.copy_binds.end(), mount.source) !=
                                    plan.copy_binds.end())
      plan_copied_bind(mount, plan);
    if (mount.type != "volume") continue;
    if (running.empty()) {
      Result<json> listed = engine.list_running_containers();
      if (!listed) return std::move(listed.error()).wrap("listing the containers that share its volumes");
      running = std::move(*listed);
    }
    Result<VolumeFacts> facts = read_volume_facts(engine, plan, mount.name, running);
    if (!facts) return std::move(facts.error());
    VolumeMove move = volume_move(mount, *facts);
    if (move.way == VolumeMove::Way::Refuse) plan.blockers.push_back(move.blocker);
    else if (move.way == VolumeMove::Way::Copy) plan.volumes.push_back(moved_volume(mount, *facts));
    else plan.attached_volumes.push_back(attached_volume(mount, *facts));
  }
  if (std::string blocker = unused_mapping_blocker(plan.container.mounts, plan.bind_map); !blocker.empty())
    plan.blockers.push_back(blocker);
  if (std::string blocker = unused_copy_bind_blocker(plan.container.mounts, plan.bind_map, plan.copy_binds);
      !blocker.empty())
    plan.blockers.push_back(blocker);
  if (plan.volumes.size() + plan.attached_volumes.size() > kMaxVolumes)
    plan.blockers.push_back("it has " + std::to_string(plan.volumes.size() + plan.attached_volumes.size()) +
                            " volumes; dockmig moves at most " +
                            std::to_string(kMaxVolumes));
  if (plan.copied_binds.size() > kMaxVolumes)
    plan.blockers.push_back("it has " + std::to_string(plan.copied_binds.size()) +
                            " bind mounts to copy; dockmig copies at most " + std::to_string(kMaxVolumes));
  return {};
}

Status read_image_layers(const docker::EngineClient& engine, bool containerd_store, MigrationPlan& plan) {
  Result<json> image = engine.inspect_image(plan.container.image_id);
  if (!image) return std::move(image.error()).wrap("reading image " + plan.container.image_ref);
  Result<json> history = engine.get_json("/images/" + plan.container.image_id + "/history");
  if (!history) return std::move(history.error()).wrap("reading history of " + plan.container.image_ref);
  std::vector<uint64_t> sizes;
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    uint64_t size = (*it).value("Size", uint64_t{0});
    if (size > 0) sizes.push_back(size);
  }
  for (const json& digest : image->value("RepoDigests", json::array()))
    if (digest.is_string()) plan.image_repo_digests.push_back(digest.get<std::string>());
  if (plan.image_repo_digests.empty() && containerd_store)
    if (std::string digest = docker::containerd_store_repo_digest(plan.container.image_ref, plan.container.image_id);
        !digest.empty())
      plan.image_repo_digests.push_back(digest);
  json layers = (*image)["RootFS"].value("Layers", json::array());
  for (size_t i = 0; i < layers.size(); ++i) {
    ImageLayer layer{layers[i].get<std::string>(), i < sizes.size() ? sizes[i] : 0};
    plan.image_bytes += layer.bytes;
    plan.image_layers.push_back(layer);
  }
  return {};
}

// A field of a stats object, or 0 when Docker left it out (as without a cgroup controller).
uint64_t stat_of(const json& stats, const char* group, const char* key) {
  auto found = stats.find(group);
  if (found == stats.end() || !found->is_object()) return 0;
  auto value = found->find(key);
  return value != found->end() && value->is_number_unsigned() ? value->get<uint64_t>() : 0;
}

void read_stats(const docker::EngineClient& engine, MigrationPlan& plan) {
  if (!plan.container.running) return;
  Result<json> stats = engine.get_json("/containers/" + plan.container.id + "/stats?stream=false&one-shot=true");
  if (!stats || !stats->is_object()) return;  // sizes are advice; a plan without them is still a plan
  uint64_t usage = stat_of(*stats, "memory_stats", "usage");
  auto memory = stats->find("memory_stats");
  uint64_t cache = memory != stats->end() && memory->is_object() ? stat_of(*memory, "stats", "cache") : 0;
  plan.memory_bytes = usage > cache ? usage - cache : usage;
  plan.processes = stat_of(*stats, "pids_stats", "current");
}

}  // namespace

std::string process_count_blocker(uint64_t processes) {
  if (processes <= kMaxProcesses) return "";
  return "it runs " + std::to_string(processes) + " processes; dockmig moves containers of at most " +
         std::to_string(kMaxProcesses);
}

std::vector<std::string> tmpfs_targets(const docker::ContainerInfo& container) {
  std::vector<std::string> targets;
  auto add = [&targets](const std::string& target) {
    if (std::find(targets.begin(), targets.end(), target) == targets.end()) targets.push_back(target);
  };
  for (const docker::Mount& mount : container.mounts)
    if (mount.type == "tmpfs") add(mount.destination);
  auto flags = container.host_config.find("Tmpfs");
  if (flags != container.host_config.end() && flags->is_object())
    for (const auto& [target, options] : flags->items()) add(target);
  return targets;
}

std::vector<MovedVolume> synced_trees(const MigrationPlan& plan) {
  std::vector<MovedVolume> trees = plan.volumes;
  trees.insert(trees.end(), plan.copied_binds.begin(), plan.copied_binds.end());
  return trees;
}

uint64_t volume_bytes(const MigrationPlan& plan) {
  uint64_t bytes = 0;
  for (const MovedVolume& volume : synced_trees(plan)) bytes += volume.bytes;
  return bytes;
}

// What the container itself sends, the image aside.
uint64_t instance_bytes(const MigrationPlan& plan) { return plan.upper_bytes + volume_bytes(plan) + plan.memory_bytes; }

Result<MigrationPlan> make_plan(const docker::EngineClient& engine, const std::string& container,
                                const std::vector<BindMapping>& bind_map, TcpMode tcp,
                                const std::vector<std::string>& copy_binds) {
  Result<json> inspect = engine.inspect_container(container);
  if (!inspect) return std::move(inspect.error());
  Result<docker::ContainerInfo> info = docker::parse_container(*inspect);
  if (!info) return std::move(info.error()).wrap("reading container `" + container + "`");
  Result<docker::DaemonInfo> daemon = engine.info();
  if (!daemon) return std::move(daemon.error());
  MigrationPlan plan;
  plan.container = std::move(*info);
  plan.docker_root = daemon->root_dir;
  plan.docker_version = daemon->server_version;
  plan.bind_map = bind_map;
  plan.copy_binds = copy_binds;
  plan.blockers = docker::migration_blockers(plan.container);
  if (docker::is_supported_storage_driver(plan.container.storage_driver)) {
    Result<std::string> upper = docker::writable_layer_dir(*daemon, plan.container);
    if (upper) plan.container.upper_dir = *upper;
    else plan.blockers.push_back("its writable layer cannot be found: " + upper.error().message +
                                 (upper.error().hint.empty() ? "" : " (" + upper.error().hint + ")"));
  }
  plan.ports = docker::parse_published_ports(plan.container.host_config);
  plan.tmpfs = tmpfs_targets(plan.container);
  Status layers = read_image_layers(engine, daemon->uses_containerd_store(), plan);
  if (layers) layers = plan_mounts(engine, plan);
  if (layers) layers = plan_networks(engine, *inspect, plan.networks, plan.blockers);
  if (!layers) return std::move(layers.error());
  if (tcp == TcpMode::Established)
    if (std::string blocker = tcp_established_blocker(docker::parse_endpoints(*inspect)); !blocker.empty())
      plan.blockers.push_back(blocker);
  size_tree(plan.container.upper_dir, plan.upper_bytes, plan.upper_files);
  read_stats(engine, plan);
  if (std::string blocker = process_count_blocker(plan.processes); !blocker.empty()) plan.blockers.push_back(blocker);
  return plan;
}

std::vector<std::string> image_layer_digests(const MigrationPlan& plan) {
  std::vector<std::string> digests;
  for (const ImageLayer& layer : plan.image_layers) digests.push_back(layer.digest);
  return digests;
}

json to_json(const MigrationPlan& plan) {
  json layers = json::array();
  for (const ImageLayer& layer : plan.image_layers)
    layers.push_back({{"digest", layer.digest}, {"bytes", layer.bytes}});
  json volumes = json::array();
  for (const MovedVolume& volume : plan.volumes)
    volumes.push_back({{"name", volume.name}, {"destination", volume.destination}, {"bytes", volume.bytes},
                       {"files", volume.files}, {"plan", kVolumePlan}});
  for (const AttachedVolume& volume : plan.attached_volumes)
    volumes.push_back({{"name", volume.name}, {"driver", volume.driver}, {"options", volume.options},
                       {"plan", kAttachedVolumePlan}});
  json binds = json::array();
  for (const BindMapping& bind : plan.bind_map)
    binds.push_back({{"source", bind.source}, {"destination", bind.destination}, {"plan", kBindMapPlan}});
  json copied = json::array();
  for (const MovedVolume& bind : plan.copied_binds)
    copied.push_back({{"source", bind.name}, {"target", bind.destination}, {"bytes", bind.bytes}, {"files", bind.files},
                      {"plan", kCopiedBindPlan}});
  json tmpfs = json::array();
  for (const std::string& target : plan.tmpfs) tmpfs.push_back({{"target", target}, {"plan", kTmpfsPlan}});
  json networks = network_specs_json(plan.networks);
  for (size_t i = 0; i < plan.networks.size(); ++i) networks[i]["plan"] = network_plan_text(plan.networks[i]);
  json ports = json::array();
  for (const docker::PublishedPort& port : plan.ports)
    ports.push_back({{"host_ip", port.host_ip}, {"host_port", port.host_port}, {"container_port", port.container_port},
                     {"protocol", port.protocol}, {"plan", port_plan_text(port)}});
  uint64_t instance = instance_bytes(plan);
  return {{"container", plan.container.name},
          {"id", plan.container.id},
          {"image", plan.container.image_ref},
          {"image_id", plan.container.image_id},
          {"image_repo_digests", plan.image_repo_digests},
          {"image_layers", layers},
          {"image_bytes", plan.image_bytes},
          {"upper_dir", plan.container.upper_dir},
          {"upper_bytes", plan.upper_bytes},
          {"upper_files", plan.upper_files},
          {"volumes", volumes},
          {"bind_map", binds},
          {"copied_binds", copied},
          {"tmpfs", tmpfs},
          {"networks", networks},
          {"ports", ports},
          {"memory_bytes", plan.memory_bytes},
          {"processes", plan.processes},
          {"movable", plan.blockers.empty()},
          {"blockers", plan.blockers},
          {"sends_when_destination_has_image", instance},
          {"sends_when_destination_lacks_image", instance + plan.image_bytes}};
}

std::string to_text(const MigrationPlan& plan) {
  std::string out = "container " + plan.container.name + " (" + plan.container.id.substr(0, 12) +
                    "), image " + plan.container.image_ref + "\n";
  out += "  image layers (fetched by the destination from its cache or registry, never sent):\n";
  for (const ImageLayer& layer : plan.image_layers)
    out += "    " + layer.digest.substr(0, 19) + "  " + base::human_bytes(layer.bytes) + "\n";
  out += "  writable layer: " + base::human_bytes(plan.upper_bytes) + " in " + std::to_string(plan.upper_files) +
         " entries\n";
  for (const MovedVolume& volume : plan.volumes)
    out += "  volume " + volume.name + " at " + volume.destination + ": " + base::human_bytes(volume.bytes) + " in " +
           std::to_string(volume.files) + " entries: " + kVolumePlan + "\n";
  for (const AttachedVolume& volume : plan.attached_volumes)
    out += "  volume " + volume.name + " (driver " + volume.driver + ", options " + volume.options.dump() +
           "): " + kAttachedVolumePlan + "\n";
  for (const BindMapping& bind : plan.bind_map)
    out += "  bind mount " + bind.source + ": mounts " + bind.destination + " of the destination: " + kBindMapPlan + "\n";
  for (const MovedVolume& bind : plan.copied_binds)
    out += "  bind mount " + bind.name + " at " + bind.destination + ": " + base::human_bytes(bind.bytes) + " in " +
           std::to_string(bind.files) + " entries: " + kCopiedBindPlan + "\n";
  for (const std::string& target : plan.tmpfs) out += "  tmpfs at " + target + ": " + kTmpfsPlan + "\n";
  for (const NetworkSpec& network : plan.networks) out += "  " + network_plan_text(network) + "\n";
  for (const docker::PublishedPort& port : plan.ports) out += "  " + port_plan_text(port) + "\n";
  out += "  memory: " + base::human_bytes(plan.memory_bytes) + " in " + std::to_string(plan.processes) +
         " processes (carried by the checkpoint)\n";
  uint64_t instance = instance_bytes(plan);
  out += "  a migration sends, before compression: " + base::human_bytes(instance) +
         " when the destination has the image or a registry serves it; " + base::human_bytes(instance + plan.image_bytes) +
         " when neither does\n";
  if (plan.blockers.empty()) out += "  movable: yes\n";
  for (const std::string& reason : plan.blockers) out += "  cannot move: " + reason + "\n";
  return out;
}

}  // namespace dockmig::migrate
