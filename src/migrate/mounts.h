// Which of a container's mounts can move, and how: a volume of the `local` driver moves
// with its data (pre-copied like the writable layer), one on a network file system or of
// another driver is attached at the destination, which reaches it too; a bind mount only when the user maps
// its path to one that exists at the destination (--bind-map), or when the user has its
// directory copied like a volume (--copy-bind); a tmpfs travels in the checkpoint. Everything else is refused before anything stops, naming the mount.
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
  bool bind = false;  // a bind-mounted directory copied like a volume (--copy-bind); `name` is its path
};

/// A volume whose data stays where it is and is reached from the destination too: a
/// `local` volume of a network file system (the data is on the server), or a volume of
/// another driver (shared storage). Nothing of it is copied; the destination makes it with
/// the same driver options, or finds it there.
struct AttachedVolume {
  std::string name;
  std::string driver;
  nlohmann::json options = nlohmann::json::object();  // the driver's options, strings
  nlohmann::json labels = nlohmann::json::object();
};

/// What the `local` driver's options (`type`, `device`, `o`) make of a volume's data.
enum class LocalVolumeKind {
  Plain,      // no options: a directory under Docker's root
  Tmpfs,      // type=tmpfs: memory, mounted on _data while a container uses it
  NetworkFs,  // type nfs, nfs4 or cifs, or `o` with addr=: the data is on a server
  Bind,       // `o` with bind: the host path `device`
  Other,      // a block device or another file system: the data is on what `device` names
};

LocalVolumeKind local_volume_kind(const nlohmann::json& options);

/// What happens to one volume of a container.
struct VolumeMove {
  enum class Way { Copy, Attach, Refuse } way = Way::Refuse;
  std::string blocker;  // with Refuse: why, naming the volume
};

/// "volume `NAME`" or "bind mount `PATH`", for messages.
std::string described(const MovedVolume& volume);

/// What the source's dockerd says of one volume, for volume_blocker.
struct VolumeFacts {
  nlohmann::json inspect;                // GET /volumes/{name}
  std::vector<std::string> other_users;  // other running containers that mount it
};

/// Parses `--bind-map SRC=DST`: two absolute paths without `..`, normalized.
Result<BindMapping> parse_bind_mapping(std::string_view text);

/// Parses `--copy-bind SRC`: an absolute path without `..`, normalized.
Result<std::string> parse_copy_bind(std::string_view text);

/// Why `mount` cannot move with this bind map and these copied binds, or "" when it can
/// (a volume still has volume_move to pass, a copied bind copy_bind_blocker).
std::string mount_blocker(const docker::Mount& mount, const std::vector<BindMapping>& bind_map,
                          const std::vector<std::string>& copy_binds = {});

/// Why the bind-mounted `source` cannot be copied (--copy-bind), or "": it must be a
/// directory, and neither the host's root nor under /proc, /sys, /dev, /run or the Docker
/// data root `docker_root` (kernel and daemon state, which a copy would corrupt or leak).
std::string copy_bind_blocker(const std::string& source, const std::string& docker_root);

/// How the volume of `mount` moves: its data copied (a local volume without options), the
/// volume attached at the destination with nothing copied (a network file system's local
/// volume, or another driver's), or refused, saying why.
VolumeMove volume_move(const docker::Mount& mount, const VolumeFacts& facts);

/// A mapping whose source no bind mount of `mounts` has: a mistyped path, said before
/// anything moves. "" when every mapping is used.
std::string unused_mapping_blocker(const std::vector<docker::Mount>& mounts, const std::vector<BindMapping>& bind_map);

/// The same for --copy-bind, and a path both mapped and copied.
std::string unused_copy_bind_blocker(const std::vector<docker::Mount>& mounts, const std::vector<BindMapping>& bind_map,
                                     const std::vector<std::string>& copy_binds);

/// The running containers mounting each volume, by volume name, from
/// GET /containers/json; container names without their '/'.
std::map<std::string, std::vector<std::string>> volume_users(const nlohmann::json& running);

docker::BindSources bind_sources(const std::vector<BindMapping>& bind_map);

/// A Docker volume name: what a peer may ask a destination to create.
bool valid_volume_name(std::string_view name);

}  // namespace dockmig::migrate
