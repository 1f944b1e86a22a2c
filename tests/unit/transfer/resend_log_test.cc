#include "transfer/resend_log.h"

#include <gtest/gtest.h>

#include <vector>

namespace dockmig::transfer {
namespace {

std::vector<std::byte> payload(size_t size, int fill) { return std::vector<std::byte>(size, std::byte(fill)); }

TEST(ResendLog, KeepsFramesUntilAcknowledged) {
  ResendLog log;
  log.keep(2, payload(100, 1));
  log.keep(2, payload(200, 2));
  log.keep(3, payload(32, 3));
  EXPECT_EQ(log.frames_sent(), 3u);
  EXPECT_EQ(log.kept_bytes(), 332u);
  ASSERT_TRUE(log.acknowledged(2));
  EXPECT_EQ(log.kept_bytes(), 32u);
  ASSERT_TRUE(log.acknowledged(1));  // an older acknowledgement changes nothing
  EXPECT_EQ(log.kept_bytes(), 32u);
  EXPECT_EQ(log.frames_sent(), 3u);
}

TEST(ResendLog, RefusesAnAcknowledgementOfFramesNeverSent) {
  ResendLog log;
  log.keep(1, payload(10, 0));
  EXPECT_FALSE(log.acknowledged(2));
  EXPECT_EQ(log.kept_bytes(), 10u);
}

TEST(ResendLog, ResendsExactlyTheFramesAfterThePeersCount) {
  ResendLog log;
  for (int i = 0; i < 5; ++i) log.keep(2, payload(10 + i, i));
  ASSERT_TRUE(log.acknowledged(1));
  Result<std::vector<const ResendLog::Frame*>> again = log.resend_after(3);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0]->payload, payload(13, 3));
  EXPECT_EQ((*again)[1]->payload, payload(14, 4));
  EXPECT_EQ(log.kept_bytes(), 27u);  // what the peer holds is dropped
  Result<std::vector<const ResendLog::Frame*>> nothing = log.resend_after(5);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
  EXPECT_EQ(log.kept_bytes(), 0u);
}

TEST(ResendLog, CannotResumeBelowWhatWasAcknowledgedOrBeyondWhatWasSent) {
  ResendLog log;
  for (int i = 0; i < 4; ++i) log.keep(2, payload(8, i));
  ASSERT_TRUE(log.acknowledged(3));
  EXPECT_FALSE(log.resend_after(2));  // frame 2 was dropped here: the stream cannot go on
  EXPECT_FALSE(log.resend_after(5));
  EXPECT_TRUE(log.resend_after(3));
}

TEST(ResendLog, AcknowledgesEveryFewFramesReceived) {
  ResendLog log;
  int due = 0;
  for (int i = 0; i < 10; ++i) {
    if (log.received_one()) {
      ++due;
      EXPECT_EQ(log.take_ack(), static_cast<uint64_t>(i + 1));
    }
  }
  EXPECT_EQ(due, static_cast<int>(10 / ResendLog::kAckEvery));
  EXPECT_EQ(log.frames_received(), 10u);
}

}  // namespace
}  // namespace dockmig::transfer
