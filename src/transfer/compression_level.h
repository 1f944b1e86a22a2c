// Which zstd level gets a stream across the link soonest. Compression and the link run side
// by side (the socket drains while the next bytes compress), so a level costs the slower of
// the two: max(compress time, compressed bytes / link rate). The best level is the one whose
// compressor just keeps ahead of the link: a high level on a slow link, level 1 on a fast
// one. The compress time is a trial's on a sample, doubled: the high levels run up to 2-3
// times slower per byte on a whole stream than on a 256 KiB sample (their window fills),
// and falling behind the link costs far more than a few percent of ratio gains.
// Pure: the trials' timings are measured elsewhere (auto_level_zstd.h), so the rule is
// tested with made-up numbers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::transfer {

/// The level used before the link has been measured, and the level before automatic choice.
inline constexpr int kDefaultZstdLevel = 3;
/// The levels tried on a stream's sample, fastest first.
inline constexpr int kCandidateZstdLevels[] = {1, 3, 6, 9, 12, 15, 19};
/// A slower level must save at least this share of the expected time to be chosen over a
/// faster one: timing noise must not buy CPU that the running container shares.
inline constexpr double kMinGainOfSlowerLevel = 0.01;
/// A trial's compress time is taken this many times over (see above).
inline constexpr double kCompressorHeadroom = 2.0;
/// A stream steps down to a faster level when its compression took this much longer than
/// the link took its output (a margin, so that noise does not step it down).
inline constexpr double kFallBehindMargin = 0.10;

/// What compressing a sample at one level took and gave.
struct LevelTrial {
  int level = 0;
  uint64_t raw_bytes = 0;
  uint64_t compressed_bytes = 0;
  double seconds = 0;  // compressing raw_bytes at this level
};

/// Seconds to get the trial's sample across: the compressor (with kCompressorHeadroom) or
/// the link, whichever is slower.
double expected_seconds(const LevelTrial& trial, double link_bytes_per_second);

/// The level whose expected time is least, from trials ordered fastest level first; a
/// slower level wins only by kMinGainOfSlowerLevel. Without trials or a link rate (0) it is
/// kDefaultZstdLevel.
int choose_level(std::span<const LevelTrial> trials, double link_bytes_per_second);

/// How long the next trial may compress before its level cannot be chosen any more
/// (infinity before the first).
double trial_time_limit(std::span<const LevelTrial> trials, double link_bytes_per_second);

/// Whether a level slower than the last trial's could still be chosen: not without a link
/// rate, and not once the last trial's compression alone reached trial_time_limit (slower
/// levels take longer still).
bool slower_levels_may_win(std::span<const LevelTrial> trials, double link_bytes_per_second);

/// The level a stream goes on with after `stretch` of it was compressed at `level`: the next
/// faster candidate when the compressor fell behind the link, else `level`. A sample shows
/// the high levels faster than they run on a whole stream (their window of up to 8 MiB
/// fills only later), and the container's own CPU use changes; this corrects both.
int level_to_keep_up(int level, const LevelTrial& stretch, double link_bytes_per_second);

/// "auto" (kZstdLevelAuto) or a level from 1 to 19, as --zstd-level takes it.
Result<int> parse_zstd_level(std::string_view text);
/// The other way: "auto" or the number.
std::string zstd_level_name(int level);

}  // namespace dockmig::transfer
