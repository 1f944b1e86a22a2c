// What one handoff's outcome does to the agent's metrics.
#include "agent/handoff_metrics.h"

#include <gtest/gtest.h>

namespace dockmig::agent {
namespace {

migrate::MigrationOutcome succeeded() {
  migrate::MigrationOutcome outcome;
  outcome.report.phases = {PhaseReport{"presync", 1.5, 1000, 4000}, PhaseReport{"finalsync", 0.2, 500, 400}};
  outcome.report.bytes_total = 1500;
  outcome.report.downtime_seconds = 0.4;
  outcome.report.prepared_bytes_saved = 7000;
  outcome.report.memory.return_cache_pages_used = 2;
  return outcome;
}

migrate::MigrationOutcome rolled_back() {
  migrate::MigrationOutcome outcome;
  outcome.report.phases = {PhaseReport{"plan", 0.01, 0, 0}};
  outcome.report.rolled_back = true;
  outcome.status = make_error(ErrorCode::Network, "the link broke");
  return outcome;
}

TEST(HandoffMetrics, StartsAtZeroWithTheBuild) {
  metrics::Registry registry;
  HandoffMetrics handoffs(registry);
  std::string text = registry.render();
  EXPECT_NE(text.find("dockmig_build_info{version=\"" DOCKMIG_VERSION "\",commit=\""), std::string::npos) << text;
  EXPECT_NE(text.find("\ndockmig_handoffs_started_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndockmig_handoffs_in_flight 0\n"), std::string::npos) << text;
}

TEST(HandoffMetrics, CountsOutcomesPhasesAndBytes) {
  metrics::Registry registry;
  HandoffMetrics handoffs(registry);
  handoffs.started();
  handoffs.started();
  EXPECT_EQ(registry.value("dockmig_handoffs_in_flight"), 2);
  handoffs.ended(succeeded());
  handoffs.ended(rolled_back());
  EXPECT_EQ(registry.value("dockmig_handoffs_in_flight"), 0);
  EXPECT_EQ(registry.value("dockmig_handoffs_started_total"), 2);
  EXPECT_EQ(registry.value("dockmig_handoffs_succeeded_total"), 1);
  EXPECT_EQ(registry.value("dockmig_handoffs_failed_total", {{"reason", "network"}}), 1);
  EXPECT_EQ(registry.value("dockmig_handoffs_rolled_back_total"), 1);
  EXPECT_EQ(registry.value("dockmig_handoff_wire_bytes_total"), 1500);
  EXPECT_EQ(registry.value("dockmig_handoff_bytes_avoided_total", {{"reason", "compression"}}), 3000);
  EXPECT_EQ(registry.value("dockmig_handoff_bytes_avoided_total", {{"reason", "prepared"}}), 7000);
  EXPECT_EQ(registry.value("dockmig_handoff_bytes_avoided_total", {{"reason", "return_cache"}}), 8192);
  std::string text = registry.render();
  EXPECT_NE(text.find("dockmig_handoff_phase_seconds_count{phase=\"presync\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dockmig_handoff_phase_seconds_count{phase=\"plan\"} 1\n"), std::string::npos) << text;
  // Only the successful handoff has a downtime.
  EXPECT_NE(text.find("dockmig_handoff_downtime_seconds_count 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dockmig_handoff_downtime_seconds_bucket{le=\"0.5\"} 1\n"), std::string::npos) << text;
}

TEST(IncomingMetrics, SessionsByPhaseFromZeroAndEndsByOutcome) {
  metrics::Registry registry;
  IncomingMetrics incoming(registry);
  std::string text = registry.render();
  EXPECT_NE(text.find("\ndockmig_incoming_sessions{phase=\"presync\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndockmig_incoming_sessions_ended_total{outcome=\"superseded\"} 0\n"), std::string::npos)
      << text;
  incoming.phase_changed("", "prepare");
  incoming.phase_changed("", "prepare");
  incoming.phase_changed("prepare", "image");
  EXPECT_EQ(registry.value("dockmig_incoming_sessions", {{"phase", "prepare"}}), 1);
  EXPECT_EQ(registry.value("dockmig_incoming_sessions", {{"phase", "image"}}), 1);
  incoming.ended("image", migrate::IncomingEnd::Committed);
  incoming.ended("prepare", migrate::IncomingEnd::RolledBack);
  EXPECT_EQ(registry.value("dockmig_incoming_sessions", {{"phase", "prepare"}}), 0);
  EXPECT_EQ(registry.value("dockmig_incoming_sessions", {{"phase", "image"}}), 0);
  EXPECT_EQ(registry.value("dockmig_incoming_sessions_ended_total", {{"outcome", "committed"}}), 1);
  EXPECT_EQ(registry.value("dockmig_incoming_sessions_ended_total", {{"outcome", "rolled_back"}}), 1);
  EXPECT_EQ(registry.value("dockmig_incoming_sessions_ended_total", {{"outcome", "failed"}}), 0);
}

TEST(HandoffMetrics, FailureReasonsAreAFixedSetOfLabelValues) {
  EXPECT_STREQ(failure_reason(ErrorCode::ToolFailed), "tool_failed");
  EXPECT_STREQ(failure_reason(ErrorCode::Timeout), "timeout");
  EXPECT_STREQ(failure_reason(ErrorCode::InvalidInput), "invalid_input");
}

}  // namespace
}  // namespace dockmig::agent
