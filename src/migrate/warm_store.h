// What this process sent ahead to a destination for a container (a preparation), kept
// until a handoff of that container to that destination uses it or a newer one replaces it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "layers/upper_snapshot.h"

namespace dockmig::migrate {

struct WarmState {
  std::string destination;
  std::string warm_id;             // names the preparation at the destination
  layers::UpperSnapshot snapshot;  // the writable layer as sent
  std::filesystem::path work;      // holds the destination's signatures of large files
  uint64_t raw_bytes = 0;          // what the preparation sent of the layer
};

class WarmStore {
 public:
  /// Keeps `state` for `container_id`, dropping (and deleting the work dir of) an older one.
  void put(const std::string& container_id, WarmState state);
  /// Hands over the state for a handoff of `container_id` to `destination`, if any.
  std::optional<WarmState> take(const std::string& container_id, const std::string& destination);

 private:
  std::mutex mutex_;
  std::map<std::string, WarmState> states_;
};

/// The process's store: the agent serves preparations and the handoffs that use them.
WarmStore& warm_store();

}  // namespace dockmig::migrate
