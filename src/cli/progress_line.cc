#include "cli/progress_line.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace dockmig::cli {
namespace {

// Under this, a phase's rate says more about its start than about the link.
constexpr double kSteadySeconds = 0.5;

// Steps of 1024 from 1 KiB on (base::human_bytes keeps KiB up to 10 MiB, too fine for a rate).
std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) std::snprintf(text, sizeof text, "%.0f B", bytes);
  else std::snprintf(text, sizeof text, "%.1f %s", bytes, units[unit]);
  return text;
}

std::string time_left(double seconds) {
  char text[48];
  long long whole = std::llround(std::ceil(seconds));
  if (whole < 60) std::snprintf(text, sizeof text, "%lld s left", whole);
  else std::snprintf(text, sizeof text, "%lld min %02lld s left", whole / 60, whole % 60);
  return text;
}

}  // namespace

std::string progress_line(const PhaseProgress& progress) {
  char phase[16];
  std::snprintf(phase, sizeof phase, "%-10.*s", static_cast<int>(std::min<size_t>(progress.phase.size(), 10)),
                progress.phase.data());
  std::string line = std::string(phase) + " " + bytes_text(static_cast<double>(progress.bytes));
  if (progress.expected > 0) {
    uint64_t shown = std::min(progress.bytes, progress.expected);  // tar headers make it a little more
    line += " of " + bytes_text(static_cast<double>(progress.expected)) + " (" +
            std::to_string(shown * 100 / progress.expected) + "%)";
  }
  if (progress.seconds < kSteadySeconds || progress.bytes == 0) return line;
  double rate = progress.bytes / progress.seconds;
  line += "  " + bytes_text(rate) + "/s";
  if (progress.expected > progress.bytes) line += "  " + time_left((progress.expected - progress.bytes) / rate);
  return line;
}

}  // namespace dockmig::cli
