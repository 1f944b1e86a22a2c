// A fleet follow (FleetBackend::follow) on a thread of its own, its changes handed over as
// NDJSON lines to the HTTP worker that streams GET /v1/fleet/watch. Ending the feed
// (stop(), or its destruction) ends the etcd watch and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/fleet_backend.h"

namespace dockmig::agent {

/// Lines not yet taken beyond this end the feed: the client reads slower than the fleet moves.
inline constexpr size_t kMaxPendingLines = 4096;

class OwnershipFeed {
 public:
  /// Starts following `request` in `fleet`, which must outlive the feed.
  OwnershipFeed(const FleetBackend& fleet, fleet::FollowRequest request);
  ~OwnershipFeed() { stop(); }
  OwnershipFeed(const OwnershipFeed&) = delete;
  OwnershipFeed& operator=(const OwnershipFeed&) = delete;

  /// Waits for the first read of the records (at the revision asked for, if any): none
  /// once it is in, else why the follow failed.
  std::optional<Error> wait_first_read();

  struct Taken {
    std::vector<std::string> lines;  // each a JSON object and "\n"; the last one an
                                     // {"error"} line when the follow failed
    bool ended = false;              // no line will come after these
  };
  /// The lines handed over since the last take, waiting up to `wait` for one.
  Taken take(std::chrono::milliseconds wait);
  /// Why the feed ended, when it failed; none while it runs or after stop().
  std::optional<Error> failure() const;

  /// Ends the etcd watch and joins its thread (within about a second: the watch checks
  /// for its stop that often).
  void stop();

 private:
  void run(const FleetBackend& fleet, const fleet::FollowRequest& request, std::stop_token stop);
  void push(const std::vector<fleet::OwnershipChange>& changes);
  void end(std::optional<Error> failure);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> lines_;
  bool first_read_ = false;
  bool ended_ = false;
  std::optional<Error> failure_;
  std::jthread thread_;  // last: it uses everything above
};

}  // namespace dockmig::agent
