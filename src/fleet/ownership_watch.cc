#include "fleet/ownership_watch.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include "fleet/service_record.h"

namespace dockmig::fleet {
namespace {

// The records as they were at `revision`, taken in by the follower without a line: the
// caller saw them then. The revision the watch goes on from, or the read's error.
Result<int64_t> catch_up_at(const etcd::Client& etcd, OwnershipFollower& follower, int64_t revision) {
  Result<etcd::RangeAnswer> then = etcd.get_prefix_at(kServicesPrefix, revision);
  if (!then) return std::move(then.error()).wrap("reading the fleet's ownership records at revision " + std::to_string(revision));
  follower.read(then->kvs, revision);
  return revision + 1;
}

}  // namespace

Status follow_ownership(const etcd::Client& etcd, const FollowRequest& request, const OwnershipHandler& on_changes,
                        std::stop_token stop) {
  OwnershipFollower follower(request.services);
  int64_t watch_from = 0;  // 0: read the state now first
  if (request.after_revision > 0) {
    Result<int64_t> resumed = catch_up_at(etcd, follower, request.after_revision);
    if (!resumed) return std::move(resumed.error());
    on_changes({});
    watch_from = *resumed;
  }
  while (!stop.stop_requested()) {
    if (watch_from == 0) {
      Result<etcd::RangeAnswer> state = etcd.get_prefix_at(kServicesPrefix);
      if (!state) return std::move(state.error()).wrap("reading the fleet's ownership records");
      on_changes(follower.read(state->kvs, state->revision));
      watch_from = state->revision + 1;
    }
    Status watched = etcd.watch_prefix(
        kServicesPrefix, watch_from,
        [&](const std::vector<etcd::WatchEvent>& events) {
          if (std::vector<OwnershipChange> changes = follower.apply(events); !changes.empty()) on_changes(changes);
          return true;
        },
        stop);
    if (watched) break;
    if (watched.error().code != ErrorCode::Conflict)
      return std::move(watched.error()).wrap("watching the fleet's ownership records");
    spdlog::warn("{}; reading the records again", watched.error().message);
    watch_from = 0;
  }
  return {};
}

Result<int64_t> parse_revision(std::string_view text) {
  int64_t revision = 0;
  auto [end, failed] = std::from_chars(text.data(), text.data() + text.size(), revision);
  if (text.empty() || failed != std::errc() || end != text.data() + text.size() || revision < 1)
    return make_error(ErrorCode::InvalidInput, "`" + std::string(text.substr(0, 32)) + "` is not a revision",
                      "give the `revision` of the last line seen, a whole number from 1 up");
  return revision;
}

}  // namespace dockmig::fleet
