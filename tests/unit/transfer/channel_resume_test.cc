// A resumable Channel whose link is lost in the middle of a blob goes on over a new one:
// the blob arrives whole and once, and only what the receiver lacked crosses again.
#include "transfer/channel.h"

#include "unit/transfer/transfer_test_support.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
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

/// Carries bytes both ways between two links and flips one bit of the byte at `flip_at` of
/// what goes from `near` to `far`, as a damaging path would; when either end fails it
/// resets both, as a path that drops a connection does.
class DamagingRelay {
 public:
  DamagingRelay(Connection near, Connection far, size_t flip_at) : near_(std::move(near)), far_(std::move(far)) {
    near_.set_read_timeout(std::chrono::milliseconds(100));
    far_.set_read_timeout(std::chrono::milliseconds(100));
    threads_[0] = std::thread([this, flip_at] { forward(near_, far_, flip_at); });
    threads_[1] = std::thread([this] { forward(far_, near_, SIZE_MAX); });
  }
  ~DamagingRelay() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
  }

 private:
  void forward(Connection& from, Connection& to, size_t flip_at) {
    std::array<std::byte, 4096> buffer{};
    for (size_t passed = 0; !stop_;) {
      Result<size_t> got = from.read_some(buffer);
      if (!got && got.error().code == ErrorCode::Timeout) continue;
      if (!got || *got == 0) break;
      if (flip_at >= passed && flip_at < passed + *got) buffer[flip_at - passed] ^= std::byte{0x01};
      passed += *got;
      if (!to.write_all(std::span(buffer).first(*got))) break;
    }
    stop_ = true;
    near_.reset();
    far_.reset();
  }

  Connection near_;
  Connection far_;
  std::atomic<bool> stop_{false};
  std::thread threads_[2];
};

TEST(ChannelResume, AFrameThatFailsItsChecksumIsSentAgainOverANewLinkAndActedOnOnce) {
  auto [sender_end, relay_near] = connected_pair();
  auto [relay_far, receiver_end] = connected_pair();
  // The sender's hello, then its first frame's header, then two bytes into its payload.
  auto relay = std::make_unique<DamagingRelay>(std::move(relay_near), std::move(relay_far),
                                               kHelloSize + kFrameHeaderSize + 2);
  Result<std::unique_ptr<Channel>> receiver = make_error(ErrorCode::Internal, "not opened");
  std::thread opening([&, connection = std::move(receiver_end)]() mutable { receiver = Channel::open(std::move(connection)); });
  Result<std::unique_ptr<Channel>> sender = Channel::open(std::move(sender_end));
  opening.join();
  ASSERT_TRUE(sender && receiver);
  Rendezvous links;
  (*sender)->enable_resume([&](bool) { return links.for_sender(); });
  (*receiver)->enable_resume([&](bool) { return links.for_receiver(); });

  Result<nlohmann::json> done = make_error(ErrorCode::Internal, "not received");
  std::thread sending([&] {
    if (!(*sender)->send_message({{"type", "first"}}) || !(*sender)->send_message({{"type", "second"}})) return;
    done = (*sender)->receive_message();  // where the sender finds its link reset
  });
  Result<nlohmann::json> first = (*receiver)->receive_message();
  Result<nlohmann::json> second = (*receiver)->receive_message();
  Status answered = (*receiver)->send_message({{"type", "done"}});
  sending.join();
  relay.reset();

  ASSERT_TRUE(first) << first.error().describe();
  ASSERT_TRUE(second) << second.error().describe();
  ASSERT_TRUE(answered) << answered.error().describe();
  ASSERT_TRUE(done) << done.error().describe();
  EXPECT_EQ(*first, nlohmann::json({{"type", "first"}}));
  EXPECT_EQ(*second, nlohmann::json({{"type", "second"}}));
  EXPECT_EQ(links.made, 1);
  EXPECT_EQ((*receiver)->resume_stats().resumes, 1);
  EXPECT_EQ((*sender)->resume_stats().resent_frames, 2u);
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
    std::string_view body = R"({"code":"NotFound","message":"no migration waits here","hint":""})";
    std::span<const std::byte> payload = std::as_bytes(std::span(body));
    std::array<std::byte, kFrameHeaderSize> header = encode_frame_header(FrameKind::Error, payload);
    Bytes frame(header.begin(), header.end());
    frame.insert(frame.end(), payload.begin(), payload.end());
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
