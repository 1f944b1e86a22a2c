#include "transfer/resend_log.h"

#include <string>

namespace dockmig::transfer {

void ResendLog::keep(uint8_t kind, std::span<const std::byte> payload) {
  kept_.push_back({kind, {payload.begin(), payload.end()}});
  kept_bytes_ += payload.size();
}

Status ResendLog::acknowledged(uint64_t count) {
  if (count > frames_sent())
    return make_error(ErrorCode::InvalidInput, "protocol: the peer acknowledged " + std::to_string(count) +
                                                   " frames, but only " + std::to_string(frames_sent()) +
                                                   " were sent");
  while (acknowledged_ < count) {
    kept_bytes_ -= kept_.front().payload.size();
    kept_.pop_front();
    ++acknowledged_;
  }
  return {};
}

Result<std::vector<const ResendLog::Frame*>> ResendLog::resend_after(uint64_t count) {
  if (count < acknowledged_ || count > frames_sent())
    return make_error(ErrorCode::InvalidInput,
                      "protocol: the peer resumes after frame " + std::to_string(count) + ", but " +
                          std::to_string(acknowledged_) + " were acknowledged and " + std::to_string(frames_sent()) +
                          " sent");
  if (Status dropped = acknowledged(count); !dropped) return std::move(dropped.error());
  std::vector<const Frame*> again;
  for (const Frame& frame : kept_) again.push_back(&frame);
  return again;
}

bool ResendLog::received_one() {
  ++received_;
  return received_ - last_ack_ >= kAckEvery;
}

}  // namespace dockmig::transfer
