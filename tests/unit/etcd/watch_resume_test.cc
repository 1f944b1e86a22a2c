#include "etcd/watch_resume.h"

#include <gtest/gtest.h>

namespace dockmig::etcd {
namespace {

constexpr int kUnavailable = 14;

WatchMessage confirmation(int64_t store_revision) {
  WatchMessage message;
  message.created = true;
  message.revision = store_revision;
  return message;
}

WatchMessage events_at(std::vector<int64_t> revisions) {
  WatchMessage message;
  for (int64_t revision : revisions) {
    WatchEvent event;
    event.kv.key = "/dockmig/services/svc-" + std::to_string(revision);
    event.kv.mod_revision = revision;
    message.events.push_back(event);
    message.revision = revision;
  }
  return message;
}

std::vector<int64_t> revisions_of(const std::vector<WatchEvent>& events) {
  std::vector<int64_t> revisions;
  for (const WatchEvent& event : events) revisions.push_back(event.kv.mod_revision);
  return revisions;
}

TEST(WatchResume, AWatchFromNowStartsAfterTheRevisionItWasConfirmedAt) {
  WatchCursor cursor(0);
  EXPECT_EQ(cursor.next_revision(), 0);  // a stream that fails before its confirmation: still from now
  EXPECT_TRUE(cursor.take(confirmation(41)).empty());
  EXPECT_EQ(cursor.next_revision(), 42);
}

TEST(WatchResume, AWatchFromARevisionIgnoresItsConfirmation) {
  // Confirmed at the store's revision 90, it replays 10..90 next: a break in the replay
  // resumes inside it, not after 90.
  WatchCursor cursor(10);
  EXPECT_TRUE(cursor.take(confirmation(90)).empty());
  EXPECT_EQ(cursor.next_revision(), 10);
  EXPECT_EQ(revisions_of(cursor.take(events_at({10, 11}))), (std::vector<int64_t>{10, 11}));
  EXPECT_EQ(cursor.next_revision(), 12);
}

TEST(WatchResume, EventsMoveItPastTheLastRevisionHandedOver) {
  WatchCursor cursor(0);
  cursor.take(confirmation(5));
  EXPECT_EQ(revisions_of(cursor.take(events_at({6}))), (std::vector<int64_t>{6}));
  // A transaction's two keys share revision 8.
  EXPECT_EQ(revisions_of(cursor.take(events_at({8, 8}))), (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(cursor.next_revision(), 9);
}

TEST(WatchResume, AResumedStreamsConfirmationDoesNotMoveIt) {
  WatchCursor cursor(0);
  cursor.take(confirmation(5));
  cursor.take(events_at({7}));
  // The member serving it died; the next one confirms at 12, having had writes since.
  EXPECT_TRUE(cursor.take(confirmation(12)).empty());
  EXPECT_EQ(cursor.next_revision(), 8);
  EXPECT_EQ(revisions_of(cursor.take(events_at({9, 12}))), (std::vector<int64_t>{9, 12}));
}

TEST(WatchResume, NothingHandedOverIsHandedOverAgain) {
  WatchCursor cursor(0);
  cursor.take(confirmation(1));
  cursor.take(events_at({2, 3}));
  EXPECT_TRUE(cursor.take(events_at({2, 3})).empty());
  EXPECT_EQ(revisions_of(cursor.take(events_at({3, 4}))), (std::vector<int64_t>{4}));
  EXPECT_EQ(cursor.next_revision(), 5);
}

TEST(WatchResume, OnlyABrokenStreamIsResumedElsewhere) {
  EXPECT_EQ(next_watch_step(StreamEnd::Broken), WatchStep::ResumeOnNextMember);
  EXPECT_EQ(next_watch_step(StreamEnd::ByCaller), WatchStep::Return);
  EXPECT_EQ(next_watch_step(StreamEnd::Compacted), WatchStep::Return);  // no member has that history
  EXPECT_EQ(next_watch_step(StreamEnd::Cancelled), WatchStep::Return);
  EXPECT_EQ(next_watch_step(StreamEnd::Refused), WatchStep::Return);
}

TEST(WatchResume, AMemberThatCannotServeIsABreakAndABadRequestIsNot) {
  EXPECT_EQ(end_of_error(kUnavailable, "etcdserver: no leader"), StreamEnd::Broken);
  EXPECT_EQ(end_of_error(0, "etcdserver: no leader"), StreamEnd::Broken);
  EXPECT_EQ(end_of_error(kUnavailable, "etcdserver: leader changed"), StreamEnd::Broken);
  EXPECT_EQ(end_of_error(3, "etcdserver: key is not provided"), StreamEnd::Refused);
  EXPECT_EQ(end_of_error(7, "etcdserver: permission denied"), StreamEnd::Refused);
}

TEST(WatchResume, ACancelWithACompactRevisionIsACompaction) {
  WatchMessage compacted;
  compacted.canceled = true;
  compacted.compact_revision = 50;
  EXPECT_EQ(end_of_cancel(compacted), StreamEnd::Compacted);
  WatchMessage denied;
  denied.canceled = true;
  denied.cancel_reason = "permission denied";
  EXPECT_EQ(end_of_cancel(denied), StreamEnd::Cancelled);
}

}  // namespace
}  // namespace dockmig::etcd
