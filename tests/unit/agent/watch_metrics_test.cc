// The fleet watches' metrics: open now, and ended by outcome.
#include "agent/watch_metrics.h"

#include <gtest/gtest.h>

namespace dockmig::agent {
namespace {

TEST(WatchMetrics, StartsAtZeroForEveryOutcome) {
  metrics::Registry registry;
  WatchMetrics watches(registry);
  std::string text = registry.render();
  EXPECT_NE(text.find("\ndockmig_fleet_watches_open 0\n"), std::string::npos) << text;
  for (const char* outcome : {"client_gone", "stopping", "error"})
    EXPECT_NE(text.find(std::string("\ndockmig_fleet_watches_ended_total{outcome=\"") + outcome + "\"} 0\n"),
              std::string::npos)
        << text;
}

TEST(WatchMetrics, CountsOpenWatchesAndHowTheyEnded) {
  metrics::Registry registry;
  WatchMetrics watches(registry);
  watches.opened();
  watches.opened();
  watches.opened();
  EXPECT_EQ(registry.value("dockmig_fleet_watches_open"), 3);
  watches.ended(WatchEnd::Failed);
  watches.ended(WatchEnd::ClientGone);
  EXPECT_EQ(registry.value("dockmig_fleet_watches_open"), 1);
  EXPECT_EQ(registry.value("dockmig_fleet_watches_ended_total", {{"outcome", "error"}}), 1);
  EXPECT_EQ(registry.value("dockmig_fleet_watches_ended_total", {{"outcome", "client_gone"}}), 1);
  EXPECT_EQ(registry.value("dockmig_fleet_watches_ended_total", {{"outcome", "stopping"}}), 0);
}

}  // namespace
}  // namespace dockmig::agent
