// A process's metrics: counters, gauges and histograms with fixed buckets, rendered in
// Prometheus's text exposition format 0.0.4 (what GET /metrics serves). Every call takes
// one mutex; metrics change per handoff or phase, never per byte, so that is cheap.
// A family is declared once with its help text; using an undeclared name, or a family as
// another kind, is a programming error (std::logic_error).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dockmig::metrics {

/// Label names and values of one series, e.g. {{"reason", "network"}}. Keep the set of
/// values small and fixed: every combination is a series the scraper stores forever.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Kind { Counter, Gauge, Histogram };

class Registry {
 public:
  /// Declares family `name`; `buckets` (upper bounds, ascending) only for a histogram.
  void declare(const std::string& name, Kind kind, const std::string& help, std::vector<double> buckets = {});

  /// Counters only go up: `amount` >= 0.
  void add(const std::string& name, double amount = 1, const Labels& labels = {});
  void set(const std::string& name, double value, const Labels& labels = {});
  /// A gauge up or down by `delta`.
  void shift(const std::string& name, double delta, const Labels& labels = {});
  void observe(const std::string& name, double value, const Labels& labels = {});

  /// The value of a counter or gauge series (0 when it has none yet); for tests.
  double value(const std::string& name, const Labels& labels = {}) const;

  /// Every family, by name, in the text format 0.0.4.
  std::string render() const;

 private:
  struct Series {
    double value = 0;                    // counter or gauge
    std::vector<uint64_t> bucket_counts;  // histogram: per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    Kind kind = Kind::Counter;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;
  };

  Series& series_of(const std::string& name, Kind kind, const Labels& labels);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

/// A number as the text format spells it: integers without a fraction, +Inf, NaN.
std::string format_number(double value);
/// `{name="value",...}` with `\`, `"` and newlines escaped; "" for no labels.
std::string format_labels(const Labels& labels);

}  // namespace dockmig::metrics
