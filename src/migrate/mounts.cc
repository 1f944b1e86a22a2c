#include "migrate/mounts.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "base/json_fields.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

bool is_plain_absolute(const std::filesystem::path& path) {
  return path.is_absolute() && std::none_of(path.begin(), path.end(), [](const auto& part) { return part == ".."; });
}

// Without a trailing '/': as Docker names a bind mount's source.
std::string normal_path(const std::filesystem::path& path) {
  std::string normal = path.lexically_normal().string();
  if (normal.size() > 1 && normal.ends_with('/')) normal.pop_back();
  return normal;
}

Result<std::string> bind_path(const std::string& path, std::string_view given) {
  std::filesystem::path parsed(path);
  if (!is_plain_absolute(parsed))
    return make_error(ErrorCode::InvalidInput, "--bind-map `" + std::string(given) + "` needs two absolute paths without `..`",
                      "give SRC=DST, e.g. --bind-map /srv/app/config=/srv/app/config");
  return normal_path(parsed);
}

const BindMapping* mapping_of(const std::string& source, const std::vector<BindMapping>& bind_map) {
  auto found = std::find_if(bind_map.begin(), bind_map.end(), [&](const BindMapping& m) { return m.source == source; });
  return found == bind_map.end() ? nullptr : &*found;
}

bool is_inside(const std::filesystem::path& path, const std::filesystem::path& root) {
  std::filesystem::path relative = path.lexically_relative(root);
  return !relative.empty() && *relative.begin() != "..";
}

bool copied(const std::string& source, const std::vector<std::string>& copy_binds) {
  return std::find(copy_binds.begin(), copy_binds.end(), source) != copy_binds.end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "`" : ", `") + name + "`";
  return text;
}

std::vector<std::string> split_options(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

VolumeMove refused(std::string blocker) { return {VolumeMove::Way::Refuse, std::move(blocker)}; }

}  // namespace

Result<BindMapping> parse_bind_mapping(std::string_view text) {
  size_t equals = text.find('=');
  if (equals == std::string_view::npos)
    return make_error(ErrorCode::InvalidInput, "--bind-map `" + std::string(text) + "` lacks `=`",
                      "give SRC=DST: the bind mount's path here and the directory at the destination");
  Result<std::string> source = bind_path(std::string(text.substr(0, equals)), text);
  if (!source) return std::move(source.error());
  Result<std::string> destination = bind_path(std::string(text.substr(equals + 1)), text);
  if (!destination) return std::move(destination.error());
  return BindMapping{*source, *destination};
}

std::string described(const MovedVolume& volume) {
  return (volume.bind ? "bind mount `" : "volume `") + volume.name + "`";
}

Result<std::string> parse_copy_bind(std::string_view text) {
  std::filesystem::path parsed(text);
  if (!is_plain_absolute(parsed))
    return make_error(ErrorCode::InvalidInput, "--copy-bind `" + std::string(text) + "` needs an absolute path without `..`",
                      "give the bind-mounted host directory as the container's inspect names it, e.g. --copy-bind /srv/app/data");
  return normal_path(parsed);
}

std::string mount_blocker(const docker::Mount& mount, const std::vector<BindMapping>& bind_map,
                          const std::vector<std::string>& copy_binds) {
  const std::string at = " at `" + mount.destination + "`";
  if (mount.type == "tmpfs") return "";
  if (mount.type == "bind") {
    if (mapping_of(mount.source, bind_map) != nullptr || copied(mount.source, copy_binds)) return "";
    return "it bind-mounts `" + mount.source + "`" + at + "; a host directory does not move with it: give " +
           "--bind-map " + mount.source + "=DST with a directory DST that exists at the destination, or " +
           "--copy-bind " + mount.source + " to copy the directory there";
  }
  if (mount.type != "volume") return "it has a mount of type `" + mount.type + "`" + at + ", which dockmig cannot move";
  return "";
}

LocalVolumeKind local_volume_kind(const json& options) {
  if (!options.is_object() || options.empty()) return LocalVolumeKind::Plain;
  std::string type = string_field(options, "type");
  std::vector<std::string> mount_options = split_options(string_field(options, "o"));
  auto has = [&](std::string_view wanted) {
    return std::any_of(mount_options.begin(), mount_options.end(),
                       [&](const std::string& option) { return option == wanted || option.starts_with(std::string(wanted) + "="); });
  };
  if (type == "tmpfs") return LocalVolumeKind::Tmpfs;
  if (type == "nfs" || type == "nfs4" || type == "cifs" || has("addr")) return LocalVolumeKind::NetworkFs;
  if (has("bind") || has("rbind")) return LocalVolumeKind::Bind;
  return LocalVolumeKind::Other;
}

VolumeMove volume_move(const docker::Mount& mount, const VolumeFacts& facts) {
  const std::string volume = "its volume `" + mount.name + "`";
  if (mount.driver != "local") return {VolumeMove::Way::Attach, ""};  // the destination finds it, or refuses
  const json& options = object_field(facts.inspect, "Options");
  switch (local_volume_kind(options)) {
    case LocalVolumeKind::NetworkFs:
      return {VolumeMove::Way::Attach, ""};
    case LocalVolumeKind::Tmpfs:
      return refused(volume + " is a tmpfs (driver options " + options.dump() +
                     "): dockerd mounts a new, empty one at the destination when the container starts there, over "
                     "anything copied before; use a --tmpfs mount instead, whose content travels in the checkpoint");
    case LocalVolumeKind::Bind:
      return refused(volume + " bind-mounts the host path `" + string_field(options, "device") +
                     "` (driver options " + options.dump() + "); a host directory does not move with it: mount `" +
                     string_field(options, "device") + "` as a bind mount and give --bind-map or --copy-bind");
    case LocalVolumeKind::Other:
      return refused(volume + " has driver options " + options.dump() +
                     ": its data is on what they name, which dockmig cannot move (it moves local volumes without "
                     "options, local volumes of the network file systems nfs, nfs4 and cifs, and other drivers' shared volumes)");
    case LocalVolumeKind::Plain:
      break;
  }
  if (!facts.other_users.empty())
    return refused(volume + " is mounted by the running container" + (facts.other_users.size() > 1 ? "s " : " ") +
                   joined(facts.other_users) + ", which would lose the data that moves: stop them first");
  return {VolumeMove::Way::Copy, ""};
}

std::string unused_mapping_blocker(const std::vector<docker::Mount>& mounts, const std::vector<BindMapping>& bind_map) {
  for (const BindMapping& mapping : bind_map) {
    bool used = std::any_of(mounts.begin(), mounts.end(), [&](const docker::Mount& mount) {
      return mount.type == "bind" && mount.source == mapping.source;
    });
    if (!used) return "--bind-map " + mapping.source + "=" + mapping.destination + " maps none of its bind mounts";
  }
  return "";
}

std::string copy_bind_blocker(const std::string& source, const std::string& docker_root) {
  const std::string refused = "--copy-bind " + source + ": ";
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::weakly_canonical(source, ec);  // a symlink may lead in
  if (ec) resolved = source;
  std::vector<std::filesystem::path> kernel_and_daemon = {"/proc", "/sys", "/dev", "/run"};
  if (!docker_root.empty()) kernel_and_daemon.emplace_back(docker_root);
  for (const std::filesystem::path& root : kernel_and_daemon)
    for (const std::filesystem::path& path : {std::filesystem::path(source), resolved})
      if (path == root || is_inside(path, root))
        return refused + "`" + path.string() + "` is under `" + root.string() +
               "`, the kernel's or a daemon's state, which dockmig never copies";
  if (resolved == "/") return refused + "dockmig does not copy the host's root directory";
  std::filesystem::file_status status = std::filesystem::status(source, ec);
  if (ec || !std::filesystem::exists(status)) return refused + "`" + source + "` cannot be read here";
  if (!std::filesystem::is_directory(status))
    return refused + "`" + source + "` is not a directory; dockmig copies bind-mounted directories only " +
           "(map a single file with --bind-map " + source + "=DST instead)";
  return "";
}

std::string unused_copy_bind_blocker(const std::vector<docker::Mount>& mounts, const std::vector<BindMapping>& bind_map,
                                     const std::vector<std::string>& copy_binds) {
  for (const std::string& source : copy_binds) {
    if (mapping_of(source, bind_map) != nullptr)
      return "--copy-bind " + source + " and --bind-map " + source + "=... name the same bind mount: give one of them";
    bool used = std::any_of(mounts.begin(), mounts.end(), [&](const docker::Mount& mount) {
      return mount.type == "bind" && mount.source == source;
    });
    if (!used) return "--copy-bind " + source + " names none of its bind mounts";
  }
  return "";
}

std::map<std::string, std::vector<std::string>> volume_users(const json& running) {
  std::map<std::string, std::vector<std::string>> users;
  if (!running.is_array()) return users;
  for (const json& container : running) {
    json names = container.is_object() ? container.value("Names", json::array()) : json::array();
    std::string name = names.is_array() && !names.empty() && names[0].is_string() ? names[0].get<std::string>() : "?";
    if (name.starts_with('/')) name.erase(0, 1);
    json mounts = container.is_object() ? container.value("Mounts", json::array()) : json::array();
    for (const json& mount : mounts.is_array() ? mounts : json::array())
      if (mount.is_object() && mount.value("Name", json()).is_string()) users[mount["Name"].get<std::string>()].push_back(name);
  }
  return users;
}

docker::BindSources bind_sources(const std::vector<BindMapping>& bind_map) {
  docker::BindSources sources;
  for (const BindMapping& mapping : bind_map) sources[mapping.source] = mapping.destination;
  return sources;
}

bool valid_volume_name(std::string_view name) {
  static const std::regex kName("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}");
  return std::regex_match(name.begin(), name.end(), kName);
}

}  // namespace dockmig::migrate
