#include "transfer/channel.h"

#include "unit/transfer/transfer_test_support.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dockmig::transfer {
namespace {

using testing::connected_pair;
using testing::random_bytes;
using testing::VectorSink;

using std::chrono::milliseconds;
using Bytes = std::vector<std::byte>;

Bytes bytes_of(std::string_view text) {
  std::span<const std::byte> view = std::as_bytes(std::span(text));
  return {view.begin(), view.end()};
}

Bytes hello(VersionRange spoken) {
  std::array<std::byte, kHelloSize> bytes = encode_hello(spoken);
  return {bytes.begin(), bytes.end()};
}

/// What a dockmig of protocol version 1 sent: the magic and its one version.
Bytes legacy_hello() {
  Bytes bytes = bytes_of(std::string_view("DOCKMIG\n", 8));
  bytes.push_back(std::byte{0});
  bytes.push_back(std::byte{1});
  return bytes;
}

Bytes frame(FrameKind kind, const Bytes& payload) {
  std::array<std::byte, kFrameHeaderSize> header = encode_frame_header(kind, payload);
  Bytes bytes(header.begin(), header.end());
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}


/// A raw (non-Channel) end writes `wire` first, then a Channel opens on the other end.
struct RawPeer {
  explicit RawPeer(const Bytes& wire) {
    auto [client, server] = connected_pair();
    raw = std::move(client);
    channel_end = std::move(server);
    EXPECT_TRUE(raw->write_all(wire));
  }
  std::optional<Connection> raw;
  std::optional<Connection> channel_end;
};

/// The hello, then each of `parts` (frames, or raw bytes), as a peer would send them.
Bytes wire_of(std::initializer_list<Bytes> parts) {
  Bytes wire = hello(kSpokenVersions);
  for (const Bytes& part : parts) wire.insert(wire.end(), part.begin(), part.end());
  return wire;
}

/// The Channel on `peer`'s other end; null (and a test failure) if it does not open.
std::unique_ptr<Channel> open_channel(RawPeer& peer) {
  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(*peer.channel_end));
  EXPECT_TRUE(channel) << channel.error().message;
  return channel ? std::move(*channel) : nullptr;
}

TEST(Channel, ExchangesMessagesBothWays) {
  auto [client, server] = connected_pair();
  Result<nlohmann::json> request = make_error(ErrorCode::Internal, "not received");
  std::thread agent([&request, connection = std::move(server)]() mutable {
    Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(connection));
    if (!channel) return;
    request = (*channel)->receive_message();
    (*channel)->send_message({{"type", "prepared"}, {"id", 7}}).ignore("checked by the other end");
  });
  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(client));
  ASSERT_TRUE(channel) << channel.error().message;
  ASSERT_TRUE((*channel)->send_message({{"type", "prepare"}, {"container", "web1"}}));
  Result<nlohmann::json> reply = (*channel)->receive_message();
  agent.join();

  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ((*request)["type"], "prepare");
  EXPECT_EQ((*request)["container"], "web1");
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ((*reply)["type"], "prepared");
  EXPECT_EQ((*reply)["id"], 7);
}

TEST(Channel, MultiMegabyteBlobArrivesIdenticalAndBothEndsCountTheSameWireBytes) {
  const Bytes blob = random_bytes(5 * 1024 * 1024 + 12345);
  auto [client, server] = connected_pair();
  uint64_t sender_hello = 0, sender_upper = 0, sender_final = 0;
  Status sent;
  std::thread sender([&, connection = std::move(client)]() mutable {
    Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(connection));
    if (!channel) {
      sent = std::move(channel.error());
      return;
    }
    Channel& ch = **channel;
    ch.set_phase("upper");
    std::unique_ptr<ByteSink> sink = ch.send_blob("upper");
    std::mt19937 random(5);
    std::span<const std::byte> rest = blob;
    while (!rest.empty() && sent) {
      size_t n = std::min<size_t>(rest.size(), 1 + random() % 400'000);
      sent = sink->write(rest.first(n));
      rest = rest.subspan(n);
    }
    if (sent) sent = sink->finish();
    if (sent) sent = ch.receive_message().has_value() ? Status() : make_error(ErrorCode::Internal, "no ack");
    ch.set_phase("final");
    if (sent) sent = ch.send_message({{"type", "bye"}});
    sender_hello = ch.wire_bytes("hello");
    sender_upper = ch.wire_bytes("upper");
    sender_final = ch.wire_bytes("final");
  });

  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(server));
  ASSERT_TRUE(channel) << channel.error().message;
  Channel& ch = **channel;
  ch.set_phase("upper");
  VectorSink received;
  Status got = ch.receive_blob("upper", received);
  EXPECT_TRUE(got) << got.error().message;
  EXPECT_TRUE(ch.send_message({{"type", "ack"}}));
  ch.set_phase("final");
  Result<nlohmann::json> bye = ch.receive_message();
  sender.join();

  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(bye) << bye.error().message;
  EXPECT_EQ(received.finished, 1);
  EXPECT_EQ(received.bytes.size(), blob.size());
  EXPECT_TRUE(received.bytes == blob);

  uint64_t chunks = (blob.size() + 256 * 1024 - 1) / (256 * 1024);
  uint64_t start = kFrameHeaderSize + nlohmann::json({{"type", "blob"}, {"name", "upper"}}).dump().size();
  uint64_t ack = kFrameHeaderSize + nlohmann::json({{"type", "ack"}}).dump().size();
  uint64_t expected_upper = start + chunks * kFrameHeaderSize + blob.size() + kFrameHeaderSize + 32 + ack;
  EXPECT_EQ(ch.wire_bytes("hello"), 2 * kHelloSize);
  EXPECT_EQ(sender_hello, 2 * kHelloSize);
  EXPECT_EQ(ch.wire_bytes("upper"), expected_upper);
  EXPECT_EQ(sender_upper, expected_upper);
  EXPECT_EQ(ch.wire_bytes("final"), sender_final);
  EXPECT_GT(sender_final, 5u);
  EXPECT_EQ(ch.wire_bytes("never"), 0u);
}

TEST(Channel, RefusesABlobWhoseDigestDoesNotMatchNamingIt) {
  RawPeer peer(wire_of({frame(FrameKind::Message, bytes_of(R"({"type":"blob","name":"checkpoint"})")),
                        frame(FrameKind::Chunk, bytes_of("some bytes")), frame(FrameKind::BlobEnd, Bytes(32))}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  VectorSink received;
  Status got = channel->receive_blob("checkpoint", received);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Network) << "a damaged blob is the link's fault: worth a retry";
  EXPECT_NE(got.error().message.find("`checkpoint`"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find("SHA-256"), std::string::npos) << got.error().message;
  EXPECT_EQ(received.finished, 0);
}

TEST(Channel, RefusesABlobWithAnotherName) {
  RawPeer peer(wire_of({frame(FrameKind::Message, bytes_of(R"({"type":"blob","name":"images"})"))}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  VectorSink received;
  Status got = channel->receive_blob("upper", received);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(got.error().message.find("`upper`"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find("images"), std::string::npos) << got.error().message;
}

TEST(Channel, APeerThatVanishesMidBlobIsAnErrorNamingTheBlob) {
  RawPeer peer(wire_of({frame(FrameKind::Message, bytes_of(R"({"type":"blob","name":"upper"})")),
                        frame(FrameKind::Chunk, bytes_of("partial"))}));
  peer.raw->close();
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  VectorSink received;
  Status got = channel->receive_blob("upper", received);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Network);
  EXPECT_NE(got.error().message.find("`upper`"), std::string::npos) << got.error().message;
  EXPECT_EQ(received.finished, 0);
}

TEST(Channel, APeerThatTricklesAFrameIsCutOffAtTheFrameDeadline) {
  Bytes message = frame(FrameKind::Message, bytes_of(R"({"type":"slow","padding":"..............."})"));
  RawPeer peer(wire_of({Bytes(message.begin(), message.begin() + 8)}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  channel->set_frame_deadline(milliseconds(300));
  // One byte every 20 ms: each read waits far less than the read timeout.
  std::atomic<bool> stop = false;
  std::thread trickle([&] {
    for (size_t at = 8; at < message.size() && !stop; ++at) {
      if (!peer.raw->write_all(std::span(message).subspan(at, 1))) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  Result<nlohmann::json> got = channel->receive_message();
  stop = true;
  trickle.join();
  ASSERT_FALSE(got) << got->dump();
  EXPECT_EQ(got.error().code, ErrorCode::Timeout);
  EXPECT_NE(got.error().message.find("did not finish it in time"), std::string::npos) << got.error().message;
}

TEST(Channel, APeerThatTricklesItsHelloIsCutOffAtTheHelloDeadline) {
  Bytes whole = hello(kSpokenVersions);
  RawPeer peer(Bytes(whole.begin(), whole.begin() + 3));
  std::atomic<bool> stop = false;
  std::thread trickle([&] {
    for (size_t at = 3; at < whole.size() && !stop; ++at) {
      std::this_thread::sleep_for(milliseconds(100));
      if (!peer.raw->write_all(std::span(whole).subspan(at, 1))) return;
    }
  });
  // Each byte comes well within the read timeout; the whole hello cannot by the deadline.
  Result<std::unique_ptr<Channel>> channel =
      Channel::open(std::move(*peer.channel_end), std::chrono::steady_clock::now() + milliseconds(300));
  stop = true;
  trickle.join();
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code, ErrorCode::Timeout);
  EXPECT_NE(channel.error().message.find("did not finish its hello in time"), std::string::npos)
      << channel.error().message;
}

TEST(Channel, WrongMagicSaysThePeerIsNotADockmigAgent) {
  RawPeer peer(bytes_of("HTTP/1.1 400 Bad Request\r\n\r\n"));
  std::string address = peer.channel_end->peer();
  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(*peer.channel_end));
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code, ErrorCode::InvalidInput);
  EXPECT_EQ(channel.error().message, "`" + address + "` is not a dockmig agent (it answered something else)");
}

TEST(Channel, AVersionOnePeerIsRefusedNamingBothVersions) {
  RawPeer peer(legacy_hello());
  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(*peer.channel_end));
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(channel.error().message.find("speaks protocol version 1, this dockmig speaks 2: they have none in common"),
            std::string::npos)
      << channel.error().message;
}

TEST(Channel, APeerOfNewerVersionsOnlyIsRefusedNamingBothRanges) {
  RawPeer peer(hello({3, 4}));
  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(*peer.channel_end));
  ASSERT_FALSE(channel);
  EXPECT_NE(channel.error().message.find("speaks protocol version 3 to 4, this dockmig speaks 2"), std::string::npos)
      << channel.error().message;
}

TEST(Channel, APeerOfAWiderRangeAgreesOnTheHighestCommonVersion) {
  RawPeer peer(hello({1, 5}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  EXPECT_EQ(channel->version(), kSpokenVersions.max);
}

TEST(Channel, AMessageWithAFlippedBitIsNeverActedOn) {
  Bytes damaged = frame(FrameKind::Message, bytes_of(R"({"type":"commit","count":1})"));
  damaged[kFrameHeaderSize + 25] ^= std::byte{0x01};  // still valid JSON: "count":0
  RawPeer peer(wire_of({damaged}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  Result<nlohmann::json> message = channel->receive_message();
  ASSERT_FALSE(message) << message->dump();
  EXPECT_EQ(message.error().code, ErrorCode::Network);
  EXPECT_NE(message.error().message.find("Message frame that failed its checksum"), std::string::npos)
      << message.error().message;
}

TEST(Channel, AChunkWithAFlippedBitFailsTheBlobAtThatFrame) {
  Bytes chunk = frame(FrameKind::Chunk, bytes_of("some bytes"));
  chunk.back() ^= std::byte{0x80};
  RawPeer peer(wire_of({frame(FrameKind::Message, bytes_of(R"({"type":"blob","name":"upper"})")), chunk}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  VectorSink received;
  Status got = channel->receive_blob("upper", received);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("Chunk frame that failed its checksum"), std::string::npos)
      << got.error().message;
  EXPECT_TRUE(received.bytes.empty());
}

TEST(Channel, RefusesAnOversizedFrame) {
  uint32_t length = kMaxFrame + 1;
  Bytes header = {std::byte(FrameKind::Message), std::byte(length >> 24), std::byte(length >> 16),
                  std::byte(length >> 8), std::byte(length)};
  header.resize(kFrameHeaderSize);
  RawPeer peer(wire_of({header}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  Result<nlohmann::json> message = channel->receive_message();
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(message.error().message.find(std::to_string(length)), std::string::npos) << message.error().message;
}

TEST(Channel, RefusesAMessageThatIsNotAJsonObject) {
  RawPeer peer(wire_of({frame(FrameKind::Message, bytes_of("[1, 2"))}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  Result<nlohmann::json> message = channel->receive_message();
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, ErrorCode::InvalidInput);
}

TEST(Channel, APeerErrorFrameBecomesAnError) {
  auto [client, server] = connected_pair();
  std::thread agent([connection = std::move(server)]() mutable {
    Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(connection));
    if (!channel) return;
    Error error = make_error(ErrorCode::ToolFailed, "restoring web1: criu restore failed (exit 1)", "see the log");
    error.detail = "Error (criu/cr-restore.c:1234): oops";
    (*channel)->send_error_and_close(error);
  });
  Result<std::unique_ptr<Channel>> channel = Channel::open(std::move(client));
  ASSERT_TRUE(channel) << channel.error().message;
  Result<nlohmann::json> message = (*channel)->receive_message();
  agent.join();
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, ErrorCode::ToolFailed);
  EXPECT_EQ(message.error().message, "the peer: restoring web1: criu restore failed (exit 1)");
  EXPECT_EQ(message.error().hint, "see the log");
  EXPECT_EQ(message.error().detail, "Error (criu/cr-restore.c:1234): oops");
}

TEST(Channel, APeerErrorFrameInsteadOfABlobBecomesAnError) {
  RawPeer peer(wire_of({frame(FrameKind::Error, bytes_of(R"({"code":"i/o error","message":"disk full","hint":""})"))}));
  std::unique_ptr<Channel> channel = open_channel(peer);
  ASSERT_TRUE(channel);
  VectorSink received;
  Status got = channel->receive_blob("upper", received);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Io);
  EXPECT_EQ(got.error().message, "the peer: disk full");
}

}  // namespace
}  // namespace dockmig::transfer
