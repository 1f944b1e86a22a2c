// Volumes whose data is not copied, because the destination reaches it too: a `local`
// volume of a network file system (nfs, nfs4, cifs: the data is on the server) or a volume
// of another driver (shared storage). The source names them in the prepare's
// `attached_volumes`; the destination, before the source freezes anything, finds each there
// with the same driver (and, for `local`, the same options), or makes a missing local one
// with the source's options, or refuses naming the volume and its driver.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/engine_client.h"
#include "dockmig/result.h"
#include "migrate/mounts.h"
#include "migrate/peer_message.h"
#include "migrate/volume_sync.h"

namespace dockmig::migrate {

nlohmann::json attached_volumes_json(const std::vector<AttachedVolume>& volumes);

/// Reads `attached_volumes` of a prepare: at most kMaxVolumes {name, driver, options,
/// labels}, valid distinct names, a plugin-like driver name, options and labels of
/// strings; anything else is a protocol error.
Result<std::vector<AttachedVolume>> read_attached_volumes(PeerMessage& prepare);

/// A protocol error when a name is both a copied volume and an attached one.
Status distinct_volume_names(const std::vector<VolumeSpec>& copied, const std::vector<AttachedVolume>& attached);

/// At the destination: why `wanted` cannot be attached here, or "". `existing` is what
/// GET /volumes/{name} found here, nullptr when none. A local volume is made here only for
/// a network file system's options (a peer may not have a host path or device mounted).
std::string attach_blocker(const AttachedVolume& wanted, const nlohmann::json* existing);

/// The source's refusal when a destination did not say, in its `image` message, that it
/// makes attached volumes (an older dockmig would let dockerd make plain local ones).
Status require_attaching_destination(const std::vector<AttachedVolume>& volumes, bool destination_attaches);

/// Destination side.
class AttachedVolumeSetup {
 public:
  explicit AttachedVolumeSetup(std::vector<AttachedVolume> volumes) : volumes_(std::move(volumes)) {}

  /// Before anything is made here: attach_blocker for each.
  Status check(const docker::EngineClient& engine) const;
  /// Makes the missing local ones with their options; `noted` records each one made.
  Status create(const docker::EngineClient& engine, const std::function<Status(const std::string&)>& noted);
  /// After a failure: removes the volumes this migration made, best effort.
  void remove_created(const docker::EngineClient& engine) const;
  const std::vector<AttachedVolume>& volumes() const { return volumes_; }

 private:
  std::vector<AttachedVolume> volumes_;
  std::vector<std::string> created_;
};

}  // namespace dockmig::migrate
