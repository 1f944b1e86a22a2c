// The line `dockmig migrate` redraws on a terminal during a phase: bytes so far, the
// phase's average rate, and, when the phase's size is known, how far and how long is left.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dockmig::cli {

struct PhaseProgress {
  std::string_view phase;
  uint64_t bytes = 0;     // raw bytes handled so far
  uint64_t expected = 0;  // what the phase should handle in all; 0 = unknown
  double seconds = 0;     // since the phase started
};

/// "presync    12.0 MiB of 40.0 MiB (30%)  4.0 MiB/s  7 s left", or without the
/// expected size (finalsync before the dump's images are counted, a volume's catch-up
/// pass) "finalsync  12.0 MiB  4.0 MiB/s".
std::string progress_line(const PhaseProgress& progress);

}  // namespace dockmig::cli
