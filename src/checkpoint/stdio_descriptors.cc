#include "checkpoint/stdio_descriptors.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/proc_status.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<json> read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  json parsed = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

// containerd's runc shim keeps runc's state under the root its options name (Docker sets
// one per daemon), in a dir per containerd namespace: the bundle's parent.
std::optional<json> descriptors_from_runc_state(int pid, const std::string& container_id) {
  Result<fs::path> bundle = task_bundle_dir(pid);
  if (!bundle) return std::nullopt;
  std::optional<json> options = read_json(*bundle / "options.json");
  std::string root = "/run/containerd/runc";
  if (options && options->is_object() && (*options)["root"].is_string()) root = (*options)["root"];
  std::string namespace_name = bundle->parent_path().filename().string();
  std::optional<json> state = read_json(fs::path(root) / namespace_name / container_id / "state.json");
  if (!state || !state->is_object()) return std::nullopt;
  auto found = state->find("external_descriptors");
  if (found == state->end() || !found->is_array()) return std::nullopt;
  return *found;
}

json descriptors_from_proc(int pid) {
  json descriptors = json::array();
  for (int fd = 0; fd < 3; ++fd) {
    std::error_code ec;
    fs::path target = fs::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
    descriptors.push_back(ec ? std::string() : target.string());
  }
  return descriptors;
}

}  // namespace

Result<fs::path> task_bundle_dir(int pid) {
  Result<std::string> status = base::read_proc_status(pid);
  long shim = status ? base::proc_status_number(*status, "PPid").value_or(0) : 0;
  std::error_code ec;
  fs::path bundle = fs::read_symlink("/proc/" + std::to_string(shim) + "/cwd", ec);
  if (shim <= 0 || ec) return make_error(ErrorCode::NotFound, "cannot find the shim of process " + std::to_string(pid));
  return bundle;
}

Result<std::string> stdio_descriptors(int pid, const std::string& container_id) {
  if (pid <= 0) return make_error(ErrorCode::InvalidInput, "no process id for the container's stdio");
  std::optional<json> recorded = descriptors_from_runc_state(pid, container_id);
  if (!recorded) spdlog::debug("runc's state of {} not found; reading its stdio from /proc", container_id.substr(0, 12));
  return (recorded ? *recorded : descriptors_from_proc(pid)).dump();
}

Status write_descriptors_file(const fs::path& dir, int pid, const std::string& container_id) {
  Result<std::string> descriptors = stdio_descriptors(pid, container_id);
  if (!descriptors) return std::move(descriptors.error());
  std::ofstream out(dir / kDescriptorsFile, std::ios::trunc);
  out << *descriptors;
  if (!out.flush()) return make_error(ErrorCode::Io, "cannot write `" + (dir / kDescriptorsFile).string() + "`");
  return {};
}

}  // namespace dockmig::checkpoint
