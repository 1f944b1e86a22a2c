#include "transfer/connection.h"

#include "unit/transfer/transfer_test_support.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

namespace dockmig::transfer {
namespace {

using testing::connected_pair;

using std::chrono::milliseconds;

std::span<const std::byte> bytes_of(const std::string& text) { return std::as_bytes(std::span(text)); }

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

TEST(Connection, CarriesBytesBothWays) {
  auto [client, server] = connected_pair();
  ASSERT_TRUE(client.write_all(bytes_of("ping")));
  std::array<std::byte, 4> buffer{};
  ASSERT_TRUE(server.read_exact(buffer));
  EXPECT_EQ(text_of(buffer), "ping");
  ASSERT_TRUE(server.write_all(bytes_of("pong")));
  ASSERT_TRUE(client.read_exact(buffer));
  EXPECT_EQ(text_of(buffer), "pong");
}

TEST(Connection, PeerNamesTheOtherEnd) {
  Result<Listener> listener = Listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(listener);
  Result<Connection> client = Connection::connect("127.0.0.1", listener->port(), milliseconds(5000));
  ASSERT_TRUE(client);
  EXPECT_EQ(client->peer(), "127.0.0.1:" + std::to_string(listener->port()));
  Result<std::optional<Connection>> server = listener->accept_for(milliseconds(5000));
  ASSERT_TRUE(server && server->has_value());
  EXPECT_EQ((*server)->peer().rfind("127.0.0.1:", 0), 0u) << (*server)->peer();
}

TEST(Connection, ReadSomeReturnsZeroAndReadExactFailsWhenThePeerCloses) {
  auto [client, server] = connected_pair();
  ASSERT_TRUE(client.write_all(bytes_of("ab")));
  client.close();
  std::array<std::byte, 4> buffer{};
  Status exact = server.read_exact(buffer);
  ASSERT_FALSE(exact);
  EXPECT_EQ(exact.error().code, ErrorCode::Network);
  EXPECT_NE(exact.error().message.find("closed"), std::string::npos) << exact.error().message;
  Result<size_t> some = server.read_some(buffer);
  ASSERT_TRUE(some);
  EXPECT_EQ(*some, 0u);
}

TEST(Connection, WritingToAVanishedPeerIsAnErrorNotASignal) {
  auto [client, server] = connected_pair();
  { Connection gone = std::move(server); }
  std::vector<std::byte> data(64 * 1024, std::byte{7});
  Status sent;
  for (int attempt = 0; attempt < 1000 && sent; ++attempt) sent = client.write_all(data);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::Network);
  EXPECT_NE(sent.error().message.find(client.peer()), std::string::npos) << sent.error().message;
}

TEST(Connection, ReadTimeoutIsAnError) {
  auto [client, server] = connected_pair();
  server.set_read_timeout(milliseconds(50));
  std::array<std::byte, 1> buffer{};
  Result<size_t> got = server.read_some(buffer);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Timeout);
}

TEST(Connection, ConnectingToAClosedPortIsANetworkErrorNamingTheAddress) {
  uint16_t port = 0;
  {
    Result<Listener> listener = Listener::listen("127.0.0.1", 0);
    ASSERT_TRUE(listener);
    port = listener->port();
  }
  Result<Connection> connection = Connection::connect("127.0.0.1", port, milliseconds(5000));
  ASSERT_FALSE(connection);
  EXPECT_EQ(connection.error().code, ErrorCode::Network);
  EXPECT_NE(connection.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << connection.error().message;
  EXPECT_FALSE(connection.error().hint.empty());
}

TEST(ConnectionListener, AcceptForReturnsNothingWhenNobodyConnects) {
  Result<Listener> listener = Listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(listener);
  EXPECT_NE(listener->port(), 0);
  Result<std::optional<Connection>> accepted = listener->accept_for(milliseconds(1));
  ASSERT_TRUE(accepted);
  EXPECT_FALSE(accepted->has_value());
}

TEST(ConnectionListener, ListeningOnATakenPortNamesIt) {
  Result<Listener> first = Listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(first);
  Result<Listener> second = Listener::listen("127.0.0.1", first->port());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::Network);
  EXPECT_NE(second.error().message.find(std::to_string(first->port())), std::string::npos);
}

}  // namespace
}  // namespace dockmig::transfer
