// A watch that outlives the member serving it: where its next stream starts, and whether
// a stream's end is the watch's end or a break to resume from at another member. Apart
// from the transport so the rule can be tested alone (docs/fleet.md, "Watching").
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "etcd/wire.h"

namespace dockmig::etcd {

/// Where a watch stands across its streams. Every revision below `next_revision()` has
/// been handed to the caller, and none at or above it: a stream opened from it neither
/// loses an event nor repeats one (etcd sends all the events of one revision in one
/// message, so a message is taken whole or not at all).
class WatchCursor {
 public:
  /// `start_revision` as the caller asked: 0 is "from now".
  explicit WatchCursor(int64_t start_revision) : next_(start_revision) {}

  /// The revision the next stream asks to start from; 0 (now) only until a first stream
  /// from now was confirmed.
  int64_t next_revision() const { return next_; }

  /// The events of `message` the caller has not had (normally all of them), and the
  /// cursor moved past them. A watch from now starts, once confirmed, after the store's
  /// revision of its confirmation; a confirmation says nothing else (a watch from an old
  /// revision is confirmed before the history it replays).
  std::vector<WatchEvent> take(WatchMessage message);

 private:
  int64_t next_;
};

/// How one stream of a watch ended.
enum class StreamEnd {
  ByCaller,   // the handler returned false, or the caller asked to stop
  Compacted,  // etcd cancelled it: its start revision is compacted away
  Cancelled,  // etcd cancelled it for another reason (e.g. permission denied)
  Refused,    // etcd answered an error about the request
  Broken,     // the connection failed or ended, or the member cannot serve (no leader,
              // unavailable): nothing says the watch itself is wrong
};

enum class WatchStep {
  Return,              // the watch ends: a success (ByCaller) or the error
  ResumeOnNextMember,  // open a stream from the cursor at the next member
};

WatchStep next_watch_step(StreamEnd end);

/// The end a cancelling message means.
StreamEnd end_of_cancel(const WatchMessage& message);
/// The end an error in (or instead of) the stream means: etcd's gRPC code and message.
StreamEnd end_of_error(int grpc_code, std::string_view message);

}  // namespace dockmig::etcd
