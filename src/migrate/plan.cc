// Plans a migration: which image layers the destination must find elsewhere (never sent
// when a registry or cache has them), how big the writable layer is, and how much memory
// the checkpoint will carry. Per-layer sizes come from the image history, whose entries
// with a non-zero size line up, in order, with RootFS.Layers.
#include "migrate/plan.h"

#include <cstdio>
#include <filesystem>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

void size_upper_dir(MigrationPlan& plan) {
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(
      plan.container.upper_dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    ++plan.upper_files;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) plan.upper_bytes += it->file_size(ec);
  }
}

Status read_image_layers(const docker::EngineClient& engine, MigrationPlan& plan) {
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

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", bytes / 1048576.0);
  return text;
}

}  // namespace

std::string process_count_blocker(uint64_t processes) {
  if (processes <= kMaxProcesses) return "";
  return "it runs " + std::to_string(processes) + " processes; dockmig moves containers of at most " +
         std::to_string(kMaxProcesses);
}

Result<MigrationPlan> make_plan(const docker::EngineClient& engine, const std::string& container) {
  Result<json> inspect = engine.inspect_container(container);
  if (!inspect) return std::move(inspect.error());
  Result<docker::ContainerInfo> info = docker::parse_container(*inspect);
  if (!info) return std::move(info.error()).wrap("reading container `" + container + "`");
  Result<docker::DaemonInfo> daemon = engine.info();
  if (!daemon) return std::move(daemon.error());
  MigrationPlan plan;
  plan.container = std::move(*info);
  plan.docker_root = daemon->root_dir;
  plan.blockers = docker::migration_blockers(plan.container);
  Status layers = read_image_layers(engine, plan);
  if (!layers) return std::move(layers.error());
  size_upper_dir(plan);
  read_stats(engine, plan);
  if (std::string blocker = process_count_blocker(plan.processes); !blocker.empty()) plan.blockers.push_back(blocker);
  return plan;
}

json to_json(const MigrationPlan& plan) {
  json layers = json::array();
  for (const ImageLayer& layer : plan.image_layers)
    layers.push_back({{"digest", layer.digest}, {"bytes", layer.bytes}});
  uint64_t instance = plan.upper_bytes + plan.memory_bytes;
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
    out += "    " + layer.digest.substr(0, 19) + "  " + mib(layer.bytes) + "\n";
  out += "  writable layer: " + mib(plan.upper_bytes) + " in " + std::to_string(plan.upper_files) +
         " entries\n";
  out += "  memory: " + mib(plan.memory_bytes) + " in " + std::to_string(plan.processes) +
         " processes (carried by the checkpoint)\n";
  out += "  a migration sends, before compression: " + mib(plan.upper_bytes + plan.memory_bytes) +
         " when the destination has the image or a registry serves it; " +
         mib(plan.upper_bytes + plan.memory_bytes + plan.image_bytes) + " when neither does\n";
  if (plan.blockers.empty()) out += "  movable: yes\n";
  for (const std::string& reason : plan.blockers) out += "  cannot move: " + reason + "\n";
  return out;
}

}  // namespace dockmig::migrate
