// The choice of a zstd level from measured trials and the link rate (compression_level.h).
// Trials come fastest level first, and a slower level must beat the best so far by a
// margin: when two levels would take about as long, the faster one leaves the CPU to the
// container.
#include "transfer/compression_level.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace dockmig::transfer {
namespace {

constexpr int kMinZstdLevel = 1;
constexpr int kMaxZstdLevel = 19;

/// A slower level's expected time must be under this to be chosen over `best`.
double beaten_below(const LevelTrial& best, double link_bytes_per_second) {
  return expected_seconds(best, link_bytes_per_second) * (1 - kMinGainOfSlowerLevel);
}

/// The index of the chosen trial (trials must not be empty).
size_t chosen_trial(std::span<const LevelTrial> trials, double link_bytes_per_second) {
  size_t best = 0;
  for (size_t i = 1; i < trials.size(); ++i)
    if (expected_seconds(trials[i], link_bytes_per_second) < beaten_below(trials[best], link_bytes_per_second)) best = i;
  return best;
}

/// The expected time a level slower than those tried must beat to be chosen.
double time_to_beat(std::span<const LevelTrial> trials, double link_bytes_per_second) {
  if (trials.empty()) return std::numeric_limits<double>::infinity();
  return beaten_below(trials[chosen_trial(trials, link_bytes_per_second)], link_bytes_per_second);
}

}  // namespace

double expected_seconds(const LevelTrial& trial, double link_bytes_per_second) {
  return std::max(trial.seconds * kCompressorHeadroom, static_cast<double>(trial.compressed_bytes) / link_bytes_per_second);
}

int choose_level(std::span<const LevelTrial> trials, double link_bytes_per_second) {
  if (trials.empty() || link_bytes_per_second <= 0) return kDefaultZstdLevel;
  return trials[chosen_trial(trials, link_bytes_per_second)].level;
}

double trial_time_limit(std::span<const LevelTrial> trials, double link_bytes_per_second) {
  return time_to_beat(trials, link_bytes_per_second) / kCompressorHeadroom;
}

bool slower_levels_may_win(std::span<const LevelTrial> trials, double link_bytes_per_second) {
  if (link_bytes_per_second <= 0) return false;
  return trials.empty() || trials.back().seconds < trial_time_limit(trials, link_bytes_per_second);
}

int level_to_keep_up(int level, const LevelTrial& stretch, double link_bytes_per_second) {
  if (link_bytes_per_second <= 0) return level;
  double link_seconds = static_cast<double>(stretch.compressed_bytes) / link_bytes_per_second;
  if (stretch.seconds <= link_seconds * (1 + kFallBehindMargin)) return level;
  int faster = level;
  for (int candidate : kCandidateZstdLevels)
    if (candidate < level) faster = candidate;
  return faster;
}

Result<int> parse_zstd_level(std::string_view text) {
  if (text == "auto") return kZstdLevelAuto;
  int level = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), level);
  if (ec != std::errc() || end != text.data() + text.size() || level < kMinZstdLevel || level > kMaxZstdLevel)
    return make_error(ErrorCode::InvalidInput, "`" + std::string(text.substr(0, 32)) + "` is not a zstd level",
                      "give auto (chosen per stream from the link and the CPU) or a level from 1 (fastest) to 19 "
                      "(smallest)");
  return level;
}

std::string zstd_level_name(int level) { return level == kZstdLevelAuto ? "auto" : std::to_string(level); }

}  // namespace dockmig::transfer
