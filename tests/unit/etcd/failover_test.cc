#include "etcd/failover.h"

#include <gtest/gtest.h>

namespace dockmig::etcd {
namespace {

constexpr int kUnavailable = 14;

KeyValue record(std::string value, int64_t mod_revision) {
  KeyValue kv;
  kv.key = "/dockmig/services/web";
  kv.value = std::move(value);
  kv.mod_revision = mod_revision;
  return kv;
}

TEST(EtcdFailover, ClassifiesHowARequestEnded) {
  EXPECT_EQ(delivery_of(false, false, 0, {}), Delivery::NotSent);  // connection refused
  EXPECT_EQ(delivery_of(true, false, 0, {}), Delivery::ReplyLost);  // sent, then the member died
  EXPECT_EQ(delivery_of(true, true, 0, {}), Delivery::Answered);
  EXPECT_EQ(delivery_of(true, true, 9, "etcdserver: requested lease not found"), Delivery::Answered);
  EXPECT_EQ(delivery_of(true, true, kUnavailable, "etcdserver: no leader"), Delivery::NotApplied);
  EXPECT_EQ(delivery_of(true, true, 2, "raft proposal dropped"), Delivery::NotApplied);
  EXPECT_EQ(delivery_of(true, true, kUnavailable, "etcdserver: leader changed"), Delivery::Unavailable);
  EXPECT_EQ(delivery_of(true, true, kUnavailable, "etcdserver: request timed out, possibly due to previous leader failure"),
            Delivery::Unavailable);
}

TEST(EtcdFailover, WhatNeverReachedAMemberGoesToTheNextWhateverItIs) {
  for (Repeat repeat : {Repeat::Safe, Repeat::Unsafe}) {
    EXPECT_EQ(next_step(repeat, Delivery::NotSent), NextStep::TryAnotherMember);
    EXPECT_EQ(next_step(repeat, Delivery::NotApplied), NextStep::TryAnotherMember);
    EXPECT_EQ(next_step(repeat, Delivery::Answered), NextStep::Return);
  }
}

TEST(EtcdFailover, ALostAnswerIsRepeatedOnlyWhenThatIsSafe) {
  EXPECT_EQ(next_step(Repeat::Safe, Delivery::ReplyLost), NextStep::TryAnotherMember);
  EXPECT_EQ(next_step(Repeat::Safe, Delivery::Unavailable), NextStep::TryAnotherMember);
  EXPECT_EQ(next_step(Repeat::Unsafe, Delivery::ReplyLost), NextStep::ResolveByReading);
  EXPECT_EQ(next_step(Repeat::Unsafe, Delivery::Unavailable), NextStep::ResolveByReading);
}

TEST(EtcdFailover, ALostSwapWonWhenTheRecordHoldsOurValueAfterTheComparedRevision) {
  EXPECT_EQ(resolve_lost_swap(40, "ours", record("ours", 41)), LostSwap::Won);
  EXPECT_EQ(resolve_lost_swap(0, "ours", record("ours", 7)), LostSwap::Won);  // created by us
}

TEST(EtcdFailover, ALostSwapLostWhenAnotherWriteCameAfterTheComparedRevision) {
  EXPECT_EQ(resolve_lost_swap(40, "ours", record("theirs", 41)), LostSwap::Lost);
  EXPECT_EQ(resolve_lost_swap(0, "ours", record("theirs", 7)), LostSwap::Lost);
  EXPECT_EQ(resolve_lost_swap(40, "ours", std::nullopt), LostSwap::Lost);  // deleted meanwhile
  // Our bytes, but written before the compared revision (a claim's value handed back in
  // the same second): not this swap's write.
  EXPECT_EQ(resolve_lost_swap(40, "ours", record("ours", 40)), LostSwap::NotApplied);
  EXPECT_EQ(resolve_lost_swap(40, "ours", record("ours", 39)), LostSwap::Lost);
}

TEST(EtcdFailover, ALostSwapOfAnUnchangedRecordWasNotApplied) {
  EXPECT_EQ(resolve_lost_swap(40, "ours", record("source's", 40)), LostSwap::NotApplied);
  EXPECT_EQ(resolve_lost_swap(0, "ours", std::nullopt), LostSwap::NotApplied);
}

// Sent again after NotApplied, the swap may meet its own first copy, applied late.
TEST(EtcdFailover, AFailedSwapThatMeetsOurOwnEarlierWriteWon) {
  EXPECT_TRUE(is_our_earlier_write(40, "ours", record("ours", 43)));
  EXPECT_FALSE(is_our_earlier_write(40, "ours", record("theirs", 43)));
  EXPECT_FALSE(is_our_earlier_write(40, "ours", record("ours", 40)));
  EXPECT_FALSE(is_our_earlier_write(40, "ours", std::nullopt));
}

}  // namespace
}  // namespace dockmig::etcd
