// The link's rate as the sending side learns it from its own traffic, without probing: the
// bytes of the blobs sent since the peer last answered, over the time from the first of
// them to that answer. The peer answers only once it has them all, so a sample is never
// above the real rate; it is below it when the peer worked before answering or when this
// side could not produce bytes as fast as the link took them. The estimate is therefore
// the best sample so far. Pure: the caller gives the times, so it is tested without clocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace dockmig::transfer {

/// Blobs smaller than this between two answers measure the round trip more than the link.
inline constexpr uint64_t kMinRateSampleBytes = 256 * 1024;

class LinkRateMeter {
 public:
  using Clock = std::chrono::steady_clock;

  /// `bytes` of a blob left for the peer at `at`; the first since the last answer starts a sample.
  void sent(uint64_t bytes, Clock::time_point at);
  /// The peer answered at `at`: everything sent before has arrived; the sample ends.
  void answered(Clock::time_point at);
  /// The best rate measured, 0 before any sample of kMinRateSampleBytes.
  double bytes_per_second() const { return best_; }

 private:
  std::optional<Clock::time_point> first_sent_;
  uint64_t bytes_ = 0;
  double best_ = 0;
};

}  // namespace dockmig::transfer
