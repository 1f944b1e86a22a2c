// The bookkeeping that lets a broken link resume (docs/protocol.md, "Resuming a broken
// link"): each side numbers the frames it sends from the moment both agreed to resume,
// keeps each until the peer acknowledges it, and counts the frames it received. After a
// reconnect the two counts say exactly which frames to send again: a frame is delivered
// once, whole and in order, whatever part of it crossed before the break.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::transfer {

class ResendLog {
 public:
  struct Frame {
    uint8_t kind;
    std::vector<std::byte> payload;
  };

  /// Keeps a frame about to be sent; it is number frames_sent() - 1 afterwards.
  void keep(uint8_t kind, std::span<const std::byte> payload);
  /// The peer holds the first `count` frames: they are dropped. A count below an earlier
  /// one changes nothing; one above what was sent is the peer's lie or bug.
  Status acknowledged(uint64_t count);
  /// After a reconnect the peer holds the first `count` frames: the ones after it, to send
  /// again in order. Fails when the peer claims frames never sent, or fewer than it
  /// acknowledged before (they were dropped here, so the stream cannot continue).
  Result<std::vector<const Frame*>> resend_after(uint64_t count);

  uint64_t frames_sent() const { return acknowledged_ + kept_.size(); }
  uint64_t kept_bytes() const { return kept_bytes_; }

  /// Receiving side: one more frame arrived whole. True when an acknowledgement is due
  /// (every kAckEvery frames, so a sender's kept frames stay within its window).
  bool received_one();
  uint64_t frames_received() const { return received_; }
  /// The count to acknowledge now; marks it as said.
  uint64_t take_ack() {
    last_ack_ = received_;
    return received_;
  }

  static constexpr uint64_t kAckEvery = 4;

 private:
  std::deque<Frame> kept_;
  uint64_t acknowledged_ = 0;  // number of the first kept frame
  uint64_t kept_bytes_ = 0;
  uint64_t received_ = 0;
  uint64_t last_ack_ = 0;
};

}  // namespace dockmig::transfer
