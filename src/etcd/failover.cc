#include "etcd/failover.h"

namespace dockmig::etcd {
namespace {

constexpr int kGrpcUnavailable = 14;

// Refused before a proposal was made: etcd's ErrNoLeader, and raft's ErrProposalDropped (a
// follower that lost its leader drops proposals rather than queue them).
bool took_nothing(std::string_view message) {
  return message.find("no leader") != std::string_view::npos ||
         message.find("proposal dropped") != std::string_view::npos;
}

}  // namespace

Delivery delivery_of(bool request_sent, bool answered, int grpc_code, std::string_view message) {
  if (!request_sent) return Delivery::NotSent;
  if (!answered) return Delivery::ReplyLost;
  if (took_nothing(message)) return Delivery::NotApplied;
  if (grpc_code == kGrpcUnavailable) return Delivery::Unavailable;
  return Delivery::Answered;
}

NextStep next_step(Repeat repeat, Delivery delivery) {
  switch (delivery) {
    case Delivery::Answered:
      return NextStep::Return;
    case Delivery::NotSent:
    case Delivery::NotApplied:
      return NextStep::TryAnotherMember;
    case Delivery::ReplyLost:
    case Delivery::Unavailable:
      return repeat == Repeat::Safe ? NextStep::TryAnotherMember : NextStep::ResolveByReading;
  }
  return NextStep::Return;
}

bool is_our_earlier_write(int64_t expected_mod_revision, std::string_view our_value,
                          const std::optional<KeyValue>& current) {
  return current && current->value == our_value && current->mod_revision > expected_mod_revision;
}

LostSwap resolve_lost_swap(int64_t expected_mod_revision, std::string_view our_value,
                           const std::optional<KeyValue>& current) {
  if (is_our_earlier_write(expected_mod_revision, our_value, current)) return LostSwap::Won;
  bool unchanged = current ? current->mod_revision == expected_mod_revision : expected_mod_revision == 0;
  return unchanged ? LostSwap::NotApplied : LostSwap::Lost;
}

}  // namespace dockmig::etcd
