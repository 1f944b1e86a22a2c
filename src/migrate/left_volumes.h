// The volumes containers left on this host. dockmig never deletes a volume's data, so a
// container that moves away leaves its volumes behind, as `docker rm` without `-v` does.
// A record of each (which container left it, with which image, when) lets this host, as a
// destination, tell the volume a returning container left from another of the same name
// (docs/design.md, "Repeat handoffs": "Volumes").
//
// The records are one JSON file in the state dir, `left-volumes.json`, rewritten whole
// under a lock (the agent and `dockmig migrate` share a state dir). Nothing in it is
// trusted: a file that does not parse holds no record, and a record names a volume only
// while the volume is the one that was left (its CreatedAt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/engine_client.h"
#include "dockmig/result.h"
#include "migrate/mounts.h"

namespace dockmig::migrate {

struct LeftVolume {
  std::string volume;
  std::string container;
  std::string image;       // as the return cache names it (return_image_key)
  std::string created_at;  // the volume's CreatedAt: one removed and made again is another
  int64_t left_at = 0;     // unix seconds, when the migration that took the container committed
  bool operator==(const LeftVolume&) const = default;
};

class LeftVolumes {
 public:
  explicit LeftVolumes(const std::filesystem::path& state_dir)
      : file_(state_dir / "left-volumes.json"), lock_(state_dir / "left-volumes.lock") {}

  /// Adds `left`, replacing the records of the same volume names.
  Status record(const std::vector<LeftVolume>& left) const;
  /// Drops the records of `volumes` (a container uses them here again).
  Status forget(const std::vector<std::string>& volumes) const;
  /// The record of `volume`; none when there is none or the file does not parse (logged).
  std::optional<LeftVolume> find(const std::string& volume) const;

 private:
  std::filesystem::path file_, lock_;
};

/// Source, once the destination committed: records each of `volumes` as left here by
/// `container` (of image `image`). A failure costs only the record, and is logged.
void record_left_volumes(const docker::EngineClient& engine, const std::filesystem::path& state_dir,
                         const std::vector<MovedVolume>& volumes, const std::string& container,
                         const std::string& image);

/// CreatedAt of a volume's inspect (GET /volumes/{name}); "" when it has none.
std::string volume_created_at(const nlohmann::json& inspect);

/// The record of `volume`, as `inspect` (GET /volumes/{name}) shows it here now, when it is
/// the very volume `left` names: the same name and the same CreatedAt.
std::optional<LeftVolume> left_record_of(const LeftVolumes& records, const std::string& volume,
                                         const std::string& inspect_created_at);

/// Why a destination refuses volume `volume` that holds data, for a migration of
/// `arriving`: with what `left` says of it, and the exact command that clears the way.
/// `source_takes_held`: the source could have taken the volume back had `arriving` (of
/// the same image) left it.
Error held_volume_refusal(const std::string& volume, const std::optional<LeftVolume>& left,
                          const std::string& arriving, bool source_takes_held);

}  // namespace dockmig::migrate
