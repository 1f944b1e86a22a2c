// What memory's pre-copy rounds and the volumes' catch-up passes share: when sending again
// before the freeze is worth it. Both weigh what is left against the link's rate and what
// the last round or pass sent; each knows its own measures (pages, files) and phrasing.
// Pure: no clocks, so the rules are tested with made-up figures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dockmig::migrate {

/// Left after the freeze, fewer bytes than this are not worth another round or pass.
inline constexpr uint64_t kSmallRoundBytes = 64 * 1024;

/// A further round (or pass) is worth its bytes only when it cuts what crosses after the
/// freeze by at least a fifth of what it sends: downtime counts several times the
/// handoff's length.
inline constexpr double kWorthwhileShrink = 0.8;

/// Whether a round of `next` bytes after one of `last` shrinks enough to be worth it.
inline bool shrinks_enough(double next, double last) { return next < kWorthwhileShrink * last; }

/// The seconds `wire_bytes` take at `bytes_per_second` when that is within `target_seconds`;
/// nothing when the rate is not measured yet (0) or it takes longer.
std::optional<double> crosses_within(double wire_bytes, double bytes_per_second, double target_seconds);

/// "0.41 s", for stop reasons.
std::string seconds_text(double seconds);

}  // namespace dockmig::migrate
