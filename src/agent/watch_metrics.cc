#include "agent/watch_metrics.h"

namespace dockmig::agent {
namespace {

constexpr const char* kOpen = "dockmig_fleet_watches_open";
constexpr const char* kEnded = "dockmig_fleet_watches_ended_total";
constexpr WatchEnd kEnds[] = {WatchEnd::ClientGone, WatchEnd::Stopping, WatchEnd::Failed};

metrics::Labels outcome(WatchEnd end) { return {{"outcome", watch_end_name(end)}}; }

}  // namespace

const char* watch_end_name(WatchEnd end) {
  switch (end) {
    case WatchEnd::ClientGone: return "client_gone";
    case WatchEnd::Stopping: return "stopping";
    case WatchEnd::Failed: return "error";
  }
  return "error";
}

WatchMetrics::WatchMetrics(metrics::Registry& registry) : registry_(registry) {
  registry_.declare(kOpen, metrics::Kind::Gauge, "Fleet ownership watches (GET /v1/fleet/watch) streaming now");
  registry_.declare(kEnded, metrics::Kind::Counter,
                    "Fleet ownership watches that ended, by outcome: the client went, the agent stopped, or an error");
  registry_.set(kOpen, 0);
  for (WatchEnd end : kEnds) registry_.add(kEnded, 0, outcome(end));
}

void WatchMetrics::opened() { registry_.shift(kOpen, 1); }

void WatchMetrics::ended(WatchEnd end) {
  registry_.add(kEnded, 1, outcome(end));
  registry_.shift(kOpen, -1);
}

}  // namespace dockmig::agent
