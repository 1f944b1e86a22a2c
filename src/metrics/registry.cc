#include "metrics/registry.h"

#include <cmath>
#include <charconv>
#include <stdexcept>

namespace dockmig::metrics {
namespace {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Counter: return "counter";
    case Kind::Gauge: return "gauge";
    case Kind::Histogram: return "histogram";
  }
  return "untyped";
}

std::string escape(const std::string& text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

Labels with_label(Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

void render_histogram(std::string& out, const std::string& name, const std::vector<double>& buckets,
                      const Labels& labels, const auto& series) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += series.bucket_counts[i];
    out += name + "_bucket" + format_labels(with_label(labels, "le", format_number(buckets[i]))) + " " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket" + format_labels(with_label(labels, "le", "+Inf")) + " " + std::to_string(series.count) + "\n";
  out += name + "_sum" + format_labels(labels) + " " + format_number(series.sum) + "\n";
  out += name + "_count" + format_labels(labels) + " " + std::to_string(series.count) + "\n";
}

}  // namespace

std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return std::to_string(static_cast<long long>(value));
  char text[32];
  auto written = std::to_chars(text, text + sizeof text, value);  // the shortest that reads back the same
  return std::string(text, written.ptr);
}

std::string format_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"" + escape(labels[i].second, /*quotes=*/true) + "\"";
  }
  return out + "}";
}

void Registry::declare(const std::string& name, Kind kind, const std::string& help, std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.kind = kind;
  family.help = help;
  family.buckets = std::move(buckets);
}

Registry::Series& Registry::series_of(const std::string& name, Kind kind, const Labels& labels) {
  auto found = families_.find(name);
  if (found == families_.end()) throw std::logic_error("metric " + name + " was not declared");
  Family& family = found->second;
  if (family.kind != kind) throw std::logic_error("metric " + name + " is a " + kind_name(family.kind));
  Series& series = family.series[labels];
  series.bucket_counts.resize(family.buckets.size());
  return series;
}

void Registry::add(const std::string& name, double amount, const Labels& labels) {
  if (amount < 0) throw std::logic_error("counter " + name + " cannot go down");
  std::lock_guard lock(mutex_);
  series_of(name, Kind::Counter, labels).value += amount;
}

void Registry::set(const std::string& name, double value, const Labels& labels) {
  std::lock_guard lock(mutex_);
  series_of(name, Kind::Gauge, labels).value = value;
}

void Registry::shift(const std::string& name, double delta, const Labels& labels) {
  std::lock_guard lock(mutex_);
  series_of(name, Kind::Gauge, labels).value += delta;
}

void Registry::observe(const std::string& name, double value, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Series& series = series_of(name, Kind::Histogram, labels);
  const std::vector<double>& buckets = families_.at(name).buckets;
  for (size_t i = 0; i < buckets.size(); ++i)
    if (value <= buckets[i]) {
      ++series.bucket_counts[i];
      break;
    }
  ++series.count;
  series.sum += value;
}

double Registry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end()) return 0;
  auto series = family->second.series.find(labels);
  return series == family->second.series.end() ? 0 : series->second.value;
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + escape(family.help, /*quotes=*/false) + "\n";
    out += "# TYPE " + name + " " + kind_name(family.kind) + "\n";
    for (const auto& [labels, series] : family.series) {
      if (family.kind == Kind::Histogram)
        render_histogram(out, name, family.buckets, labels, series);
      else
        out += name + format_labels(labels) + " " + format_number(series.value) + "\n";
    }
  }
  return out;
}

}  // namespace dockmig::metrics
