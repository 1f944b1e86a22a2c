// The text exposition format 0.0.4, as Prometheus parses it.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace dockmig::metrics {
namespace {

TEST(MetricsRegistry, RendersCountersAndGaugesWithHelpTypeAndLabels) {
  Registry registry;
  registry.declare("jobs_total", Kind::Counter, "Jobs done");
  registry.declare("queue_depth", Kind::Gauge, "Jobs waiting");
  registry.add("jobs_total", 2, {{"reason", "network"}});
  registry.add("jobs_total", 1, {{"reason", "network"}});
  registry.add("jobs_total", 0.5, {{"reason", "io"}});
  registry.set("queue_depth", 4);
  registry.shift("queue_depth", -1);
  EXPECT_EQ(registry.render(),
            "# HELP jobs_total Jobs done\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{reason=\"io\"} 0.5\n"
            "jobs_total{reason=\"network\"} 3\n"
            "# HELP queue_depth Jobs waiting\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 3\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  registry.declare("phase_seconds", Kind::Histogram, "Phase durations", {0.1, 1, 10});
  for (double seconds : {0.0625, 0.09375, 0.5, 3.0, 42.0}) registry.observe("phase_seconds", seconds, {{"phase", "plan"}});
  EXPECT_EQ(registry.render(),
            "# HELP phase_seconds Phase durations\n"
            "# TYPE phase_seconds histogram\n"
            "phase_seconds_bucket{phase=\"plan\",le=\"0.1\"} 2\n"
            "phase_seconds_bucket{phase=\"plan\",le=\"1\"} 3\n"
            "phase_seconds_bucket{phase=\"plan\",le=\"10\"} 4\n"
            "phase_seconds_bucket{phase=\"plan\",le=\"+Inf\"} 5\n"
            "phase_seconds_sum{phase=\"plan\"} 45.65625\n"
            "phase_seconds_count{phase=\"plan\"} 5\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.declare("info", Kind::Gauge, "Back\\slash and\nnewline");
  registry.set("info", 1, {{"version", "a\"b\\c\nd"}});
  EXPECT_EQ(registry.render(),
            "# HELP info Back\\\\slash and\\nnewline\n"
            "# TYPE info gauge\n"
            "info{version=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsRegistry, NumbersAsTheFormatSpellsThem) {
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(123456789012), "123456789012");
  EXPECT_EQ(format_number(0.25), "0.25");
  EXPECT_EQ(format_number(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_number(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_number(0.0 / 0.0), "NaN");
}

TEST(MetricsRegistry, MisuseIsALogicError) {
  Registry registry;
  registry.declare("done_total", Kind::Counter, "Done");
  EXPECT_THROW(registry.add("undeclared_total"), std::logic_error);
  EXPECT_THROW(registry.set("done_total", 1), std::logic_error);
  EXPECT_THROW(registry.add("done_total", -1), std::logic_error);
}

TEST(MetricsRegistry, CountsFromManyThreadsAddUp) {
  Registry registry;
  registry.declare("hits_total", Kind::Counter, "Hits");
  registry.declare("latency", Kind::Histogram, "Latency", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&registry] {
      for (int i = 0; i < 1000; ++i) {
        registry.add("hits_total");
        registry.observe("latency", 0.5);
      }
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(registry.value("hits_total"), 4000);
  EXPECT_NE(registry.render().find("latency_count 4000\n"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::metrics
