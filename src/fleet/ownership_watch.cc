#include "fleet/ownership_watch.h"

#include <spdlog/spdlog.h>

#include "fleet/service_record.h"

namespace dockmig::fleet {

Status follow_ownership(const etcd::Client& etcd, const std::vector<std::string>& services,
                        const OwnershipHandler& on_changes, std::stop_token stop) {
  OwnershipFollower follower(services);
  while (!stop.stop_requested()) {
    Result<etcd::RangeAnswer> state = etcd.get_prefix_at(kServicesPrefix);
    if (!state) return std::move(state.error()).wrap("reading the fleet's ownership records");
    on_changes(follower.read(state->kvs, state->revision));
    Status watched = etcd.watch_prefix(
        kServicesPrefix, state->revision + 1,
        [&](const std::vector<etcd::WatchEvent>& events) {
          if (std::vector<OwnershipChange> changes = follower.apply(events); !changes.empty()) on_changes(changes);
          return true;
        },
        stop);
    if (watched) break;
    if (watched.error().code != ErrorCode::Conflict)
      return std::move(watched.error()).wrap("watching the fleet's ownership records");
    spdlog::warn("{}; reading the records again", watched.error().message);
  }
  return {};
}

}  // namespace dockmig::fleet
