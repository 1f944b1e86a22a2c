// Link rate samples from blobs and the answers that follow them (link_rate.h).
#include "transfer/link_rate.h"

#include <algorithm>

namespace dockmig::transfer {

void LinkRateMeter::sent(uint64_t bytes, Clock::time_point at) {
  if (!first_sent_) first_sent_ = at;
  bytes_ += bytes;
}

void LinkRateMeter::answered(Clock::time_point at) {
  if (!first_sent_) return;
  double seconds = std::chrono::duration<double>(at - *first_sent_).count();
  if (bytes_ >= kMinRateSampleBytes && seconds > 0) best_ = std::max(best_, static_cast<double>(bytes_) / seconds);
  first_sent_.reset();
  bytes_ = 0;
}

}  // namespace dockmig::transfer
