#include "migrate/round_rule.h"

namespace dockmig::migrate {

std::optional<double> crosses_within(double wire_bytes, double bytes_per_second, double target_seconds) {
  if (bytes_per_second <= 0) return std::nullopt;
  double seconds = wire_bytes / bytes_per_second;
  if (seconds > target_seconds) return std::nullopt;
  return seconds;
}

std::string seconds_text(double seconds) { return std::to_string(seconds).substr(0, 4) + " s"; }

}  // namespace dockmig::migrate
