#include "docker/writable_layer.h"

#include <chrono>
#include <sstream>
#include <vector>

#include "base/subprocess.h"

namespace dockmig::docker {
namespace {

std::vector<std::string> words_of(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// The value of `key=` in a comma-separated mount option list, or "".
std::string option_value(const std::string& options, std::string_view key) {
  std::istringstream in(options);
  for (std::string option; std::getline(in, option, ',');)
    if (option.size() > key.size() && option.starts_with(key) && option[key.size()] == '=')
      return option.substr(key.size() + 1);
  return "";
}

Error no_ctr() {
  return make_error(ErrorCode::Unsupported,
                    "this dockerd keeps containers in containerd's image store, and dockmig finds a "
                    "container's writable layer there with containerd's `ctr`, which is not on PATH",
                    "install containerd's ctr (it comes with containerd) or put its directory on PATH");
}

Result<std::string> snapshot_dir(const ContainerdStore& store, const std::string& snapshotter,
                                 const std::string& container_id) {
  std::string ctr = base::find_on_path("ctr");
  if (ctr.empty()) return no_ctr();
  // The target is never mounted: `mounts` only prints the mount that would be made.
  std::vector<std::string> argv{ctr, "--address", store.address, "--namespace", store.containers_namespace,
                                "snapshots", "--snapshotter", snapshotter, "mounts", "/", container_id};
  Result<base::Exit> ran = base::run(argv, {.timeout = std::chrono::seconds(30), .env = {}});
  if (!ran) return std::move(ran.error()).wrap("asking containerd for the snapshot of container " + container_id);
  std::string dir = ran->code == 0 ? writable_dir_of_mount(ran->out) : "";
  if (dir.empty())
    return make_error(ErrorCode::ToolFailed, "containerd at " + store.address + " has no " + snapshotter +
                                                 " snapshot for container " + container_id + ": " +
                                                 (ran->err.empty() ? ran->out : ran->err));
  return dir;
}

}  // namespace

Status check_writable_layer_access(const DaemonInfo& daemon) {
  if (daemon.uses_containerd_store() && base::find_on_path("ctr").empty()) return no_ctr();
  return {};
}

bool is_supported_storage_driver(std::string_view driver) { return driver == "overlay2" || driver == "overlayfs"; }

std::string writable_dir_of_mount(std::string_view ctr_output) {
  // mount -t TYPE SOURCE TARGET -o OPTIONS
  std::vector<std::string> words = words_of(ctr_output);
  if (words.size() < 7 || words[0] != "mount" || words[1] != "-t" || words[5] != "-o") return "";
  if (words[2] == "overlay") return option_value(words[6], "upperdir");
  if (words[2] == "bind") return words[3];
  return "";
}

Result<std::string> writable_layer_dir(const DaemonInfo& daemon, const ContainerInfo& container) {
  if (!is_supported_storage_driver(container.storage_driver))
    return make_error(ErrorCode::Unsupported, "container " + container.id + " is stored by the `" +
                                                  container.storage_driver + "` storage driver; dockmig needs "
                                                  "overlay2 or containerd's overlayfs snapshotter");
  if (daemon.containerd) return snapshot_dir(*daemon.containerd, container.storage_driver, container.id);
  if (container.upper_dir.empty())
    return make_error(ErrorCode::ToolFailed, "dockerd names no UpperDir for container " + container.id);
  return container.upper_dir;
}

}  // namespace dockmig::docker
