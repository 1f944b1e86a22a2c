// The agent's metrics (GET /metrics, docs/api.md "Metrics"): handoffs by outcome and
// failure reason, their phases' and downtime's durations, bytes on the link and bytes a
// handoff did not have to send, handoffs in flight, and the build; as a destination, the
// migrations it receives by phase and how they ended.
#pragma once

#include "metrics/registry.h"
#include "migrate/incoming_watch.h"
#include "migrate/source_migration.h"

namespace dockmig::agent {

class HandoffMetrics {
 public:
  /// Declares the agent's families in `registry` and sets dockmig_build_info.
  explicit HandoffMetrics(metrics::Registry& registry);

  void started();
  /// Once per started(): its outcome, phases and bytes.
  void ended(const migrate::MigrationOutcome& outcome);

 private:
  void count_bytes(const MigrationReport& report);
  metrics::Registry& registry_;
};

/// The migrations this host receives: sessions open now by phase, and sessions ended by
/// how they ended.
class IncomingMetrics : public migrate::IncomingWatch {
 public:
  explicit IncomingMetrics(metrics::Registry& registry);
  void phase_changed(std::string_view from, std::string_view to) override;
  void ended(std::string_view phase, migrate::IncomingEnd end) override;

 private:
  metrics::Registry& registry_;
};

/// The failure reason label for an error's code: network, timeout, tool_failed, ...
const char* failure_reason(ErrorCode code);
/// The version and commit dockmig was built from.
const char* build_commit();

}  // namespace dockmig::agent
