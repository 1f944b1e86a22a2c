// A container's local volumes cross like its writable layer (tree_sync.h): whole while it
// runs (presync), then, while it still runs, catch-up passes of what changed since the pass
// before, until what is left would cross within a target time, and only what changed since
// the last pass after the freeze (finalsync). The destination
// makes each volume under the same name before the container is created, and refuses,
// before the source freezes anything, a name it already holds with data, but for the
// copy this container left there (left_volumes.h), which it offers instead: pass 1 then
// sends only what differs from it. Bind-mounted
// directories copied with --copy-bind cross the same way, after the volumes, into the
// directories bind_copies.h makes.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/engine_client.h"
#include "dockmig/result.h"
#include "layers/upper_snapshot.h"
#include "migrate/left_volumes.h"
#include "migrate/mounts.h"
#include "migrate/peer_message.h"
#include "migrate/tree_sync.h"

namespace dockmig::migrate {

/// What the prepare message's `volumes` says of each volume (docs/protocol.md).
struct VolumeSpec {
  std::string name;
  nlohmann::json labels = nlohmann::json::object();  // string values only
};

nlohmann::json volume_specs_json(const std::vector<MovedVolume>& volumes);

/// Reads `volumes` of a prepare: a list of at most kMaxVolumes {name, labels}, each a
/// valid, distinct volume name with labels of strings; anything else is a protocol error.
Result<std::vector<VolumeSpec>> read_volume_specs(PeerMessage& prepare);

inline constexpr size_t kMaxVolumePasses = 8;

/// When the volumes' passes should stop and the container freeze: the reason, or nothing
/// (send another pass). Like memory's rounds (round_rule.h): freeze when the last pass sent
/// so little that what changed during it crosses within `target_seconds` at the link's
/// measured rate, when a catch-up pass did not shrink the one before by a fifth (the
/// service rewrites its data about as fast as the link carries it), or after `max_passes`.
/// Pass 1, the whole volumes, is not weighed against pass 2: its size is the data's, not
/// how fast the service writes.
std::optional<std::string> volume_pass_stop_reason(const std::vector<VolumePass>& passes, double bytes_per_second,
                                                   double target_seconds, size_t max_passes = kMaxVolumePasses);

/// Source side: sends each volume's tree in the plan's order (synced_trees: the volumes,
/// then the copied bind mounts).
class VolumeSender {
 public:
  /// `held`: by volume, whether the destination holds a copy this container left there
  /// (its `created` said so): pass 1 then sends only what differs from that copy.
  VolumeSender(std::vector<MovedVolume> volumes, std::filesystem::path work, int zstd_level,
               std::vector<bool> held = {})
      : volumes_(std::move(volumes)), work_(std::move(work)), zstd_level_(zstd_level), held_(std::move(held)) {}

  /// Presync: each whole (pass 1), then, with `catch_up` (the destination takes them),
  /// catch-up passes until volume_pass_stop_reason, ended by "volume-passes-end".
  Status send_passes(Session& session, bool catch_up, double target_seconds, PhaseReport& phase, Progress& progress,
                     VolumeReport& report);
  /// Finalsync: what changed in each since its last pass; the destination answers nothing.
  Status send_final(Session& session, PhaseReport& phase, Progress& progress, VolumeReport& report);

 private:
  TreeSyncFiles files(size_t index) const;
  Status send_whole(Session& session, PhaseReport& phase, Progress& progress);
  using SendChanges = std::function<Status(const TreeSyncFiles& files, const layers::UpperSnapshot& baseline,
                                            const layers::UpperSnapshot& now)>;
  /// Scans each volume and sends what changed since its last pass with `send`; with
  /// `advance`, this scan is the baseline of the next pass (not after the freeze: there is
  /// no next pass).
  Status send_each_changed(const SendChanges& send, bool advance);
  /// What changed in each since the pass before; the destination answers with signatures.
  Status send_changes(Session& session, PhaseReport& phase, Progress& progress);
  /// Runs `send` as the next pass, measured into `report` and told to `progress`.
  Status measured_pass(Session& session, PhaseReport& phase, Progress& progress, VolumeReport& report,
                       const std::function<Status()>& send);

  std::vector<MovedVolume> volumes_;
  std::filesystem::path work_;
  int zstd_level_;
  std::vector<bool> held_;
  std::vector<layers::UpperSnapshot> presynced_;
};

/// Who may have a volume that holds data at the destination offered back instead of
/// refused: the container (by name and image) that left it there, when its source takes
/// an offer (`volume_return` in its prepare).
struct HeldVolumeRule {
  const LeftVolumes* left_volumes = nullptr;
  std::string container;
  std::string image;  // as the return cache names it
  bool source_takes_held = false;
};

/// The source's side of `volumes_held` in `created`: by volume of `volumes`, whether the
/// destination holds it; a name that is not one of them is a protocol error.
Result<std::vector<bool>> read_volumes_held(PeerMessage& created, const std::vector<MovedVolume>& volumes);

/// Destination side.
class VolumeReceiver {
 public:
  /// `bind_dirs`: where the copied bind mounts go, in the source's order, after the volumes.
  /// `held`: which volumes holding data here may be offered back (else refused, saying
  /// which container left them here).
  VolumeReceiver(std::vector<VolumeSpec> specs, std::vector<std::filesystem::path> bind_dirs, std::filesystem::path work,
                 HeldVolumeRule held = {})
      : specs_(std::move(specs)),
        bind_dirs_(std::move(bind_dirs)),
        work_(std::move(work)),
        rule_(std::move(held)),
        held_(specs_.size(), false) {}

  /// Before anything is made here: refuses a volume name that exists with data, unless
  /// the rule lets it be held (offered to the source: pass 1 sends only what differs), or
  /// of another driver. An existing empty local volume is used as it is.
  Status check(const docker::EngineClient& engine);
  /// The names of the volumes held, for `created`'s `volumes_held`.
  std::vector<std::string> held_names() const;
  /// Makes the volumes that are missing and finds where each one's data goes; `noted`
  /// records each one made, right after it was (the ledger).
  Status create(const docker::EngineClient& engine, const std::function<Status(const std::string&)>& noted);
  /// Receives each volume's transfer (see receive_synced_tree).
  Status receive(Session& session, bool then_sign);
  /// After the first pass, when the source was told it may send more: each "volume-pass"
  /// and its transfers, up to "volume-passes-end".
  Status receive_passes(Session& session);
  /// After a failure: removes the volumes this migration made, best effort.
  void remove_created(const docker::EngineClient& engine) const;
  /// The names of the volumes (not the copied bind mounts).
  std::vector<std::string> volume_names() const;

 private:
  Status check_existing(size_t index, const nlohmann::json& inspect);

  std::vector<VolumeSpec> specs_;
  std::vector<std::filesystem::path> bind_dirs_;
  std::filesystem::path work_;
  std::vector<std::filesystem::path> data_dirs_;  // by spec, then the bind dirs, once created
  std::vector<std::string> created_;
  std::vector<SignedStamps> signed_;  // by data dir: what the last pass's signatures were of
  HeldVolumeRule rule_;
  std::vector<bool> held_;  // by spec: offered back, its listing sent before pass 1
  bool first_pass_received_ = false;
};

}  // namespace dockmig::migrate
