// Which of a container's mounts can move, and how: a volume of the `local` driver moves
// with its data (pre-copied like the writable layer); a bind mount only when the user maps
// its path to one that exists at the destination (--bind-map); a tmpfs travels in the
// checkpoint. Everything else is refused before anything stops, naming the mount.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/container_info.h"
#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::migrate {

/// The most volumes one migration moves: each is a volume a destination makes on a peer's
/// word, so a peer may not ask for an unbounded number.
inline constexpr size_t kMaxVolumes = 128;

/// A local volume whose data moves with the container.
struct MovedVolume {
  std::string name;
  std::string data_dir;     // its data at the source (the volume's _data)
  std::string destination;  // where the container mounts it
  nlohmann::json labels = nlohmann::json::object();  // recreated at the destination
  uint64_t bytes = 0;
  uint64_t files = 0;
};

/// What the source's dockerd says of one volume, for volume_blocker.
struct VolumeFacts {
  nlohmann::json inspect;                // GET /volumes/{name}
  std::vector<std::string> other_users;  // other running containers that mount it
};

/// Parses `--bind-map SRC=DST`: two absolute paths without `..`, normalized.
Result<BindMapping> parse_bind_mapping(std::string_view text);

/// Why `mount` cannot move with this bind map, or "" when it can (a local volume still
/// has volume_blocker to pass).
std::string mount_blocker(const docker::Mount& mount, const std::vector<BindMapping>& bind_map);

/// Why the local volume of `mount` cannot move, or "".
std::string volume_blocker(const docker::Mount& mount, const VolumeFacts& facts);

/// A mapping whose source no bind mount of `mounts` has: a mistyped path, said before
/// anything moves. "" when every mapping is used.
std::string unused_mapping_blocker(const std::vector<docker::Mount>& mounts, const std::vector<BindMapping>& bind_map);

/// The running containers mounting each volume, by volume name, from
/// GET /containers/json; container names without their '/'.
std::map<std::string, std::vector<std::string>> volume_users(const nlohmann::json& running);

docker::BindSources bind_sources(const std::vector<BindMapping>& bind_map);

/// A Docker volume name: what a peer may ask a destination to create.
bool valid_volume_name(std::string_view name);

}  // namespace dockmig::migrate
