// What this host sent ahead to a destination for a container (a preparation), kept
// until a handoff of that container to that destination uses it, a newer one to the same
// destination replaces it, or it expires. A container may be prepared at several likely
// next hosts at once: one preparation per destination. Kept in memory, or, once given the state dir, as files there that
// outlive the process and that the agent and `dockmig migrate` share.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "migrate/warm_record.h"

namespace dockmig::migrate {

/// A preparation older than this is dropped, here and at the destination: its snapshot is
/// unlikely to still save much, and its files should not pile up.
inline constexpr std::chrono::seconds kWarmTtl{30 * 60};

class WarmStore {
 public:
  explicit WarmStore(std::chrono::seconds ttl = kWarmTtl) : ttl_(ttl) {}

  /// How long a preparation is kept unused (`serve --prepare-ttl`); told to destinations.
  void set_ttl(std::chrono::seconds ttl) { ttl_ = ttl; }
  std::chrono::seconds ttl() const { return ttl_; }

  /// From now on keeps preparations as `<dir>/<container id>@<destination>.prep`, their work dirs beside
  /// them, so a restarted process finds them. Falls back to memory (with a warning) when
  /// `dir` cannot be made.
  void persist_in(const std::filesystem::path& dir);
  /// Where a preparation keeps its work files: in the store's dir, else the temp dir.
  std::filesystem::path work_dir(const std::string& warm_id) const;
  /// Keeps `state` for `container_id`, dropping (and deleting the work dir of) an older one
  /// to the same destination.
  void put(const std::string& container_id, WarmState state);
  /// Hands over the state for a handoff of `container_id` to `destination`, if any and
  /// not expired.
  std::optional<WarmState> take(const std::string& container_id, const std::string& destination);
  /// Drops, with their files, the kept preparations that expired, cannot be read, or
  /// that `keep` refuses (e.g. their container is gone or restarted).
  void prune(const std::function<bool(const std::string& container_id, const WarmState&)>& keep = {});

 private:
  bool persistent() const { return !dir_.empty(); }
  std::filesystem::path record_path(const std::string& container_id, const std::string& destination) const;
  bool expired(const WarmState& state) const;
  std::optional<WarmState> take_from_disk(const std::string& container_id, const std::string& destination);
  void drop_leftovers(const std::set<std::filesystem::path>& kept_work) const;

  using Key = std::pair<std::string, std::string>;  // container id, destination

  std::atomic<std::chrono::seconds> ttl_;
  std::filesystem::path dir_;
  std::mutex mutex_;
  std::map<Key, WarmState> states_;  // when in memory, or a write to `dir_` failed
};

/// The process's store: the agent serves preparations and the handoffs that use them.
WarmStore& warm_store();

}  // namespace dockmig::migrate
