// A resumable Channel whose link is lost in the middle of a blob goes on over a new one:
// the blob arrives whole and once, and only what the receiver lacked crosses again.
#include "transfer/channel.h"

#include "unit/transfer/transfer_test_support.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

namespace dockmig::transfer {
namespace {

using testing::connected_pair;
using testing::random_bytes;
using testing::VectorSink;
using Bytes = std::vector<std::byte>;


/// New links on demand: the sender's reattach makes a pair, the receiver's takes its end.
class Rendezvous {
 public:
  Result<Connection> for_sender() {
    ++made;
    auto [client, server] = connected_pair();
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_.push_back(std::move(server));
    ready_.notify_all();
    return std::move(client);
  }
  Result<Connection> for_receiver() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::seconds(10), [&] { return !waiting_.empty(); }))
      return make_error(ErrorCode::Timeout, "no new link");
    Connection connection = std::move(waiting_.front());
    waiting_.pop_front();
    return connection;
  }
  int made = 0;

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Connection> waiting_;
};

/// Calls `act` once, when `after` bytes have passed into the sink.
class TriggerSink : public ByteSink {
 public:
  TriggerSink(ByteSink& next, size_t after, std::function<void()> act)
      : next_(next), after_(after), act_(std::move(act)) {}
  Status write(std::span<const std::byte> data) override {
    seen_ += data.size();
    if (act_ && seen_ >= after_) std::exchange(act_, nullptr)();
    return next_.write(data);
  }
  Status finish() override { return next_.finish(); }

 private:
  ByteSink& next_;
  size_t after_;
  size_t seen_ = 0;
  std::function<void()> act_;
};

struct Pair {
  std::unique_ptr<Channel> sender;
  std::unique_ptr<Channel> receiver;
};

Pair open_pair() {
  auto [client, server] = connected_pair();
  Result<std::unique_ptr<Channel>> receiver = make_error(ErrorCode::Internal, "not opened");
  std::thread opening([&, connection = std::move(server)]() mutable { receiver = Channel::open(std::move(connection)); });
  Result<std::unique_ptr<Channel>> sender = Channel::open(std::move(client));
  opening.join();
  EXPECT_TRUE(sender && receiver);
  return {std::move(*sender), std::move(*receiver)};
}

TEST(ChannelResume, BlobCrossesWholeAfterTheLinkIsLostInItsMiddle) {
  const Bytes blob = random_bytes(24u << 20);  // beyond the resend window: acknowledgements must flow
  Pair pair = open_pair();
  Rendezvous links;
  pair.sender->enable_resume([&](bool) { return links.for_sender(); });
  pair.receiver->enable_resume([&](bool) { return links.for_receiver(); });

  Status sent;
  std::thread sending([&] {
    ASSERT_TRUE(pair.sender->send_message({{"type", "upper"}}));
    std::unique_ptr<ByteSink> sink = pair.sender->send_blob("upper");
    sent = sink->write(blob);
    if (sent) sent = sink->finish();
    if (sent) sent = pair.sender->send_message({{"type", "after"}});
  });
  Result<nlohmann::json> header = pair.receiver->receive_message();
  ASSERT_TRUE(header) << header.error().message;
  VectorSink got;
  TriggerSink breaking(got, 9u << 20, [&] {
    pair.sender->supersede_link();  // both ends find the link gone, as after a silent cut
    pair.receiver->supersede_link();
  });
  Status received = pair.receiver->receive_blob("upper", breaking);
  Result<nlohmann::json> after = pair.receiver->receive_message();
  sending.join();

  ASSERT_TRUE(sent) << sent.error().describe();
  ASSERT_TRUE(received) << received.error().describe();
  ASSERT_TRUE(after) << after.error().describe();
  EXPECT_EQ((*after)["type"], "after");
  EXPECT_EQ(got.bytes, blob);
  EXPECT_EQ(got.finished, 1);
  EXPECT_EQ(links.made, 1);
  EXPECT_EQ(pair.sender->resume_stats().resumes, 1);
  EXPECT_EQ(pair.receiver->resume_stats().resumes, 1);
  // Only the unacknowledged tail crossed again: at most the window and a few chunks.
  EXPECT_LT(pair.sender->resume_stats().resent_bytes, Channel::kResendWindow + (2u << 20));
  EXPECT_LT(pair.sender->resume_stats().resent_bytes, blob.size() / 2);
}

TEST(ChannelResume, APeerThatClosesTheLinkIsNotResumed) {
  Pair pair = open_pair();
  int reattached = 0;
  pair.sender->enable_resume([&](bool) -> Result<Connection> {
    ++reattached;
    return make_error(ErrorCode::Network, "not expected");
  });
  pair.receiver->enable_resume([&](bool) -> Result<Connection> {
    ++reattached;
    return make_error(ErrorCode::Network, "not expected");
  });
  pair.sender->close();
  Result<nlohmann::json> message = pair.receiver->receive_message();
  EXPECT_FALSE(message);
  EXPECT_EQ(reattached, 0);
}

TEST(ChannelResume, AResumeThePeerRefusesFailsWithItsReason) {
  Pair pair = open_pair();
  auto [client, server] = connected_pair();
  pair.receiver->enable_resume([&, connection = std::make_shared<Connection>(std::move(client))](bool) mutable {
    return Result<Connection>(std::move(*connection));
  });
  // The other end answers as an agent that knows no such migration.
  std::thread refusing([connection = std::move(server)]() mutable {
    std::string body = R"({"code":"NotFound","message":"no migration waits here","hint":""})";
    auto length = static_cast<uint32_t>(body.size());
    Bytes frame = {std::byte(FrameKind::Error), std::byte(length >> 24), std::byte(length >> 16),
                   std::byte(length >> 8), std::byte(length)};
    for (char c : body) frame.push_back(std::byte(c));
    EXPECT_TRUE(connection.write_all(frame));
    connection.close();
  });
  pair.receiver->supersede_link();
  Result<nlohmann::json> message = pair.receiver->receive_message();
  refusing.join();
  ASSERT_FALSE(message);
  EXPECT_NE(message.error().message.find("no migration waits here"), std::string::npos) << message.error().message;
}

}  // namespace
}  // namespace dockmig::transfer
