#include "migrate/bind_copies.h"

#include <set>

#include <spdlog/spdlog.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The bind mount of `create` at `target`, or null.
json* bind_mount_at(json& create, const std::string& target) {
  json* mounts = create.is_object() && create.contains("HostConfig") && create["HostConfig"].is_object()
                     ? &create["HostConfig"]["Mounts"]
                     : nullptr;
  if (mounts == nullptr || !mounts->is_array()) return nullptr;
  for (json& mount : *mounts)
    if (mount.is_object() && mount.value("Type", json()) == "bind" && mount.value("Target", json()) == target)
      return &mount;
  return nullptr;
}

Error protocol_error(const std::string& problem) {
  return make_error(ErrorCode::InvalidInput, "protocol: `copied_binds` of the `prepare` message " + problem);
}

}  // namespace

fs::path copied_binds_root(const fs::path& staging_root) { return staging_root.parent_path() / "binds"; }

json copied_binds_json(const std::vector<MovedVolume>& binds) {
  json targets = json::array();
  for (const MovedVolume& bind : binds) targets.push_back(bind.destination);
  return targets;
}

Result<BindCopies> BindCopies::claim(PeerMessage& prepare, json& create, fs::path dir) {
  std::vector<std::string> targets = prepare.strings_or_empty("copied_binds");
  if (Status read = prepare.status(); !read) return std::move(read.error());
  if (targets.size() > kMaxVolumes)
    return protocol_error("lists " + std::to_string(targets.size()) + " bind mounts; at most " +
                          std::to_string(kMaxVolumes) + " are copied at once");
  BindCopies copies;
  copies.dir_ = std::move(dir);
  std::set<std::string> seen;
  for (const std::string& target : targets) {
    json* mount = bind_mount_at(create, target);
    if (mount == nullptr || !seen.insert(target).second)
      return protocol_error("names `" + target.substr(0, 80) + "`, which is no bind mount of the container or is named twice");
    copies.dirs_.push_back(copies.dir_ / std::to_string(copies.dirs_.size()));
    (*mount)["Source"] = copies.dirs_.back().string();
  }
  return copies;
}

Status BindCopies::make() {
  if (dirs_.empty()) return {};
  std::error_code ec;
  fs::create_directories(dir_.parent_path(), ec);
  bool made = !ec && fs::create_directory(dir_, ec);
  if (!made)
    return make_error(ErrorCode::Conflict, "the destination's directory for copied bind mounts `" + dir_.string() +
                                               "` exists already" + (ec ? " or cannot be made: " + ec.message() : ""),
                      "dockmig never writes into a directory it did not make; remove it on the destination if it is not needed");
  made_ = true;
  for (const fs::path& dir : dirs_)
    if (!fs::create_directory(dir, ec))
      return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`" + (ec ? ": " + ec.message() : ""));
  return {};
}

CreatePolicy BindCopies::allowing(CreatePolicy policy) const {
  for (const fs::path& dir : dirs_) policy.bind_prefixes.push_back(dir.string());
  return policy;
}

void BindCopies::remove_made() const {
  if (!made_) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) spdlog::warn("cannot remove `{}` ({}); remove it by hand", dir_.string(), ec.message());
}

void remove_copied_binds(const fs::path& staging_root, const std::string& migration) {
  std::error_code ec;
  fs::remove_all(copied_binds_root(staging_root) / migration, ec);
}

}  // namespace dockmig::migrate
