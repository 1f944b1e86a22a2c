#include "agent/handoff_metrics.h"

namespace dockmig::agent {
namespace {

using metrics::Kind;

// A phase takes from milliseconds (plan) to minutes (a large presync on a slow link).
const std::vector<double> kPhaseBuckets{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
// Downtime is what handoffs are tuned for: finer below a second.
const std::vector<double> kDowntimeBuckets{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30};
constexpr uint64_t kPageBytes = 4096;

void declare_families(metrics::Registry& registry) {
  registry.declare("dockmig_build_info", Kind::Gauge, "Always 1; the version and commit of this dockmig");
  registry.declare("dockmig_handoffs_started_total", Kind::Counter, "Handoffs from this host that started to run");
  registry.declare("dockmig_handoffs_succeeded_total", Kind::Counter,
                   "Handoffs from this host whose container runs at the destination");
  registry.declare("dockmig_handoffs_failed_total", Kind::Counter,
                   "Handoffs from this host that did not succeed, rolled back or not, by the error's kind");
  registry.declare("dockmig_handoffs_rolled_back_total", Kind::Counter,
                   "Failed handoffs after which the source container was resumed");
  registry.declare("dockmig_handoffs_in_flight", Kind::Gauge, "Handoffs from this host running now");
  registry.declare("dockmig_handoff_phase_seconds", Kind::Histogram, "How long each phase of a handoff took",
                   kPhaseBuckets);
  registry.declare("dockmig_handoff_downtime_seconds", Kind::Histogram,
                   "From the source's freeze to the restored container running, per successful handoff",
                   kDowntimeBuckets);
  registry.declare("dockmig_handoff_wire_bytes_total", Kind::Counter,
                   "Bytes of handoffs' payload on the link, both directions (the reports' bytes_total)");
  registry.declare("dockmig_handoff_bytes_avoided_total", Kind::Counter,
                   "Bytes handoffs did not send: saved by compression, sent ahead by a preparation, or "
                   "pages the destination kept from the container's earlier stay");
}

// The destination's steps (migrate/incoming_watch.h), each a series from the start.
const char* const kIncomingPhases[] = {"prepare", "image", "create", "presync", "finalsync", "swap", "restore", "commit"};
const migrate::IncomingEnd kIncomingEnds[] = {migrate::IncomingEnd::Committed, migrate::IncomingEnd::RolledBack,
                                              migrate::IncomingEnd::Superseded, migrate::IncomingEnd::Failed};

metrics::Labels phase_label(std::string_view phase) { return {{"phase", std::string(phase)}}; }

}  // namespace

const char* build_commit() {
#ifdef DOCKMIG_COMMIT
  return DOCKMIG_COMMIT;
#else
  return "unknown";
#endif
}

const char* failure_reason(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput: return "invalid_input";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::ToolFailed: return "tool_failed";
    case ErrorCode::Io: return "io";
    case ErrorCode::Network: return "network";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::Interrupted: return "interrupted";
    case ErrorCode::Internal: return "internal";
  }
  return "internal";
}

HandoffMetrics::HandoffMetrics(metrics::Registry& registry) : registry_(registry) {
  declare_families(registry_);
  registry_.set("dockmig_build_info", 1, {{"version", DOCKMIG_VERSION}, {"commit", build_commit()}});
  // Zeros from the start, so that a scraper's rate() sees the first handoff.
  for (const char* name : {"dockmig_handoffs_started_total", "dockmig_handoffs_succeeded_total",
                           "dockmig_handoffs_rolled_back_total", "dockmig_handoff_wire_bytes_total"})
    registry_.add(name, 0);
  registry_.set("dockmig_handoffs_in_flight", 0);
}

void HandoffMetrics::started() {
  registry_.add("dockmig_handoffs_started_total");
  registry_.shift("dockmig_handoffs_in_flight", 1);
}

void HandoffMetrics::ended(const migrate::MigrationOutcome& outcome) {
  const MigrationReport& report = outcome.report;
  for (const PhaseReport& phase : report.phases)
    registry_.observe("dockmig_handoff_phase_seconds", phase.seconds, {{"phase", phase.name}});
  count_bytes(report);
  if (outcome.status) {
    registry_.add("dockmig_handoffs_succeeded_total");
    registry_.observe("dockmig_handoff_downtime_seconds", report.downtime_seconds);
  } else {
    registry_.add("dockmig_handoffs_failed_total", 1, {{"reason", failure_reason(outcome.status.error().code)}});
    if (report.rolled_back) registry_.add("dockmig_handoffs_rolled_back_total");
  }
  registry_.shift("dockmig_handoffs_in_flight", -1);
}

void HandoffMetrics::count_bytes(const MigrationReport& report) {
  registry_.add("dockmig_handoff_wire_bytes_total", static_cast<double>(report.bytes_total));
  uint64_t compression = 0;
  for (const PhaseReport& phase : report.phases)
    if (phase.raw_bytes > phase.wire_bytes) compression += phase.raw_bytes - phase.wire_bytes;
  registry_.add("dockmig_handoff_bytes_avoided_total", static_cast<double>(compression), {{"reason", "compression"}});
  registry_.add("dockmig_handoff_bytes_avoided_total", static_cast<double>(report.prepared_bytes_saved),
                {{"reason", "prepared"}});
  registry_.add("dockmig_handoff_bytes_avoided_total",
                static_cast<double>(report.memory.return_cache_pages_used * kPageBytes), {{"reason", "return_cache"}});
}

IncomingMetrics::IncomingMetrics(metrics::Registry& registry) : registry_(registry) {
  registry_.declare("dockmig_incoming_sessions", Kind::Gauge,
                    "Migrations this host receives now, by the destination's phase they are in");
  registry_.declare("dockmig_incoming_sessions_ended_total", Kind::Counter,
                    "Migrations this host received that ended, by outcome");
  for (const char* phase : kIncomingPhases) registry_.set("dockmig_incoming_sessions", 0, phase_label(phase));
  for (migrate::IncomingEnd end : kIncomingEnds)
    registry_.add("dockmig_incoming_sessions_ended_total", 0, {{"outcome", migrate::incoming_end_name(end)}});
}

// In before out: a scrape in between counts the session twice rather than not at all.
void IncomingMetrics::phase_changed(std::string_view from, std::string_view to) {
  registry_.shift("dockmig_incoming_sessions", 1, phase_label(to));
  if (!from.empty()) registry_.shift("dockmig_incoming_sessions", -1, phase_label(from));
}

void IncomingMetrics::ended(std::string_view phase, migrate::IncomingEnd end) {
  registry_.add("dockmig_incoming_sessions_ended_total", 1, {{"outcome", migrate::incoming_end_name(end)}});
  registry_.shift("dockmig_incoming_sessions", -1, phase_label(phase));
}

}  // namespace dockmig::agent
