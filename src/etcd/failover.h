// When a request to one etcd member fails, what the client may do next: the rules of
// failover, apart from the transport and the clock so they can be tested alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "etcd/wire.h"

namespace dockmig::etcd {

/// Whether a request may be sent again when its answer did not come.
enum class Repeat {
  Safe,    // a read, a keep-alive, a put of the same value, a revoke; a lease grant (a
           // second lease, never used, ends alone at its TTL)
  Unsafe,  // a compare-and-swap: its first copy may have been applied, and a second
           // would then fail on the first one's write and report a loss that was a win
};

/// What became of one request sent to one member.
enum class Delivery {
  Answered,     // etcd answered: a success, or an error about the request itself
  NotSent,      // no connection: the request never left (refused, no route, connect timeout)
  NotApplied,   // the member answered that it took nothing ("etcdserver: no leader",
                // "raft proposal dropped")
  ReplyLost,    // sent, and no answer came (timeout, reset): it may have been applied
  Unavailable,  // the member answered unavailable ("leader changed", "request timed out"):
                // it may still be applied
};

enum class NextStep {
  Return,            // give the answer, or the error, to the caller
  TryAnotherMember,  // send the same request to the next member
  ResolveByReading,  // the outcome is unknown and the request must not be repeated
};

/// How a request ended at one member: `request_sent` (bytes left for it), `answered` (a
/// complete HTTP answer came), and, when answered, etcd's gRPC code and message (0 and
/// empty for a success).
Delivery delivery_of(bool request_sent, bool answered, int grpc_code, std::string_view message);

NextStep next_step(Repeat repeat, Delivery delivery);

/// What a read made after a swap whose answer was lost says of that swap.
enum class LostSwap {
  Won,         // the record holds our value, written after the revision we compared
  Lost,        // another write came after the revision we compared
  NotApplied,  // the record is as it was: sending the swap again is safe, since of it and
               // a late first copy only one can pass the compare
};

/// Decides a lost swap from the record as read now (none: it does not exist). The value a
/// handoff writes names the host, the handoff and the second, so no other writer's value
/// equals it; and only the new owner writes the record next, which it cannot have done
/// before this swap returned, so a record changed by someone else means we lost.
LostSwap resolve_lost_swap(int64_t expected_mod_revision, std::string_view our_value,
                           const std::optional<KeyValue>& current);

/// A swap answered "failed", whose current record is our own write after the revision we
/// compared: an earlier copy of the same swap, whose answer was lost, won.
bool is_our_earlier_write(int64_t expected_mod_revision, std::string_view our_value,
                          const std::optional<KeyValue>& current);

}  // namespace dockmig::etcd
