// The fleet watches this agent's API streams (GET /v1/fleet/watch), for GET /metrics
// (docs/api.md "Metrics"): how many are open now, and how those that ended ended.
#pragma once

#include "metrics/registry.h"

namespace dockmig::agent {

enum class WatchEnd {
  ClientGone,  // the client hung up, or a write to it failed
  Stopping,    // the agent is stopping
  Failed,      // the etcd watch failed, or the client read too slowly: a last {"error"} line
};

const char* watch_end_name(WatchEnd end);

class WatchMetrics {
 public:
  /// Declares the families in `registry`, every series at 0.
  explicit WatchMetrics(metrics::Registry& registry);
  /// A watch whose first read succeeded starts to stream.
  void opened();
  /// Once per opened().
  void ended(WatchEnd end);

 private:
  metrics::Registry& registry_;
};

}  // namespace dockmig::agent
