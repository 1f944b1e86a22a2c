// TLS on agent links, over loopback with certificates made by make_test_certificates: the
// happy path carries a Channel, and each wrong certificate is refused by the right end.
#include "transfer/tls.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <string>

#include "migrate/session.h"
#include "transfer/channel.h"
#include "transfer/connection.h"
#include "transfer/tls_certs.h"

namespace dockmig::transfer {
namespace {

using std::chrono::milliseconds;

std::chrono::steady_clock::time_point soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(15); }

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dockmig-tls-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

/// Two CAs: `good` certifies edge-a and edge-b (at 127.0.0.1), `rogue` another edge-b.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::vector<CertHost>> hosts = parse_cert_hosts("edge-a=127.0.0.1,edge-b=127.0.0.1,gw=127.0.0.1");
    ASSERT_TRUE(hosts);
    hosts->back().gateway = true;
    Result<MadeCertificates> good = make_test_certificates(dir_.path / "good", *hosts, 1);
    ASSERT_TRUE(good) << good.error().describe();
    Result<std::vector<CertHost>> rogue_hosts = parse_cert_hosts("edge-b=127.0.0.1");
    ASSERT_TRUE(rogue_hosts);
    Result<MadeCertificates> rogue = make_test_certificates(dir_.path / "rogue", *rogue_hosts, 1);
    ASSERT_TRUE(rogue) << rogue.error().describe();
  }

  TlsFiles files(const std::string& ca_dir, const std::string& host, const std::string& trusted = "good") const {
    std::filesystem::path dir = dir_.path / ca_dir;
    return {(dir / (host + ".pem")).string(), (dir / (host + "-key.pem")).string(),
            (dir_.path / trusted / "ca.pem").string()};
  }

  struct Ends {
    Status client;
    Status server;
    std::optional<Connection> client_connection;
    std::optional<Connection> server_connection;
  };

  /// Connects over loopback and runs both handshakes at once.
  static Ends handshake(const TlsFiles& client_files, const TlsFiles& server_files, const std::string& name) {
    Result<std::shared_ptr<const TlsContext>> client_tls = TlsContext::load(client_files, TlsRole::Client);
    Result<std::shared_ptr<const TlsContext>> server_tls = TlsContext::load(server_files, TlsRole::Server);
    EXPECT_TRUE(client_tls && server_tls);
    Result<Listener> listener = Listener::listen("127.0.0.1", 0);
    EXPECT_TRUE(listener);
    Result<Connection> client = Connection::connect("127.0.0.1", listener->port(), milliseconds(5000));
    EXPECT_TRUE(client);
    Result<std::optional<Connection>> server = listener->accept_for(milliseconds(5000));
    EXPECT_TRUE(server && server->has_value());
    Ends ends{{}, {}, std::move(*client), std::move(**server)};
    auto client_side = std::async(std::launch::async, [&] { return ends.client_connection->start_tls(**client_tls, name, soon()); });
    ends.server = ends.server_connection->start_tls(**server_tls, {}, soon());
    if (!ends.server) ends.server_connection->close();  // so a waiting client sees the end
    ends.client = client_side.get();
    return ends;
  }

  TempDir dir_;
};

TEST_F(TlsTest, MutuallyAuthenticatedChannelCarriesMessages) {
  Ends ends = handshake(files("good", "edge-a"), files("good", "edge-b"), "127.0.0.1");
  ASSERT_TRUE(ends.client) << ends.client.error().describe();
  ASSERT_TRUE(ends.server) << ends.server.error().describe();
  EXPECT_TRUE(ends.client_connection->secure());
  EXPECT_EQ(ends.client_connection->peer_identity(), "edge-b");
  EXPECT_EQ(ends.server_connection->peer_identity(), "edge-a");

  auto opened = std::async(std::launch::async, [&] { return Channel::open(std::move(*ends.server_connection)); });
  Result<std::unique_ptr<Channel>> client = Channel::open(std::move(*ends.client_connection));
  Result<std::unique_ptr<Channel>> server = opened.get();
  ASSERT_TRUE(client && server);
  EXPECT_TRUE((*client)->secure());
  ASSERT_TRUE((*client)->send_message({{"type", "ping"}, {"n", 7}}));
  Result<nlohmann::json> got = (*server)->receive_message();
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ((*got)["n"], 7);
}

TEST_F(TlsTest, AServerGivesUpOnASilentClientAtItsHandshakeDeadline) {
  Result<std::shared_ptr<const TlsContext>> server_tls = TlsContext::load(files("good", "edge-b"), TlsRole::Server);
  ASSERT_TRUE(server_tls);
  Result<Listener> listener = Listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(listener);
  Result<Connection> client = Connection::connect("127.0.0.1", listener->port(), milliseconds(5000));
  ASSERT_TRUE(client);
  const std::byte record_start[] = {std::byte{0x16}, std::byte{0x03}};  // a ClientHello begun, never finished
  ASSERT_TRUE(client->write_all(record_start));
  Result<std::optional<Connection>> server = listener->accept_for(milliseconds(5000));
  ASSERT_TRUE(server && server->has_value());
  Status secured = (*server)->start_tls(**server_tls, {}, std::chrono::steady_clock::now() + milliseconds(200));
  ASSERT_FALSE(secured);
  EXPECT_EQ(secured.error().code, ErrorCode::Timeout);
  EXPECT_NE(secured.error().message.find("TLS handshake did not finish"), std::string::npos)
      << secured.error().message;
}

TEST_F(TlsTest, EachEndSeesTheRoleThePeersCertificateCarries) {
  Ends ends = handshake(files("good", "edge-a"), files("good", "edge-b"), "127.0.0.1");
  ASSERT_TRUE(ends.client && ends.server);
  EXPECT_EQ(ends.client_connection->peer_role(), CertRole::Agent);
  EXPECT_EQ(ends.server_connection->peer_role(), CertRole::Agent);
  Ends gateway = handshake(files("good", "gw"), files("good", "edge-b"), "127.0.0.1");
  ASSERT_TRUE(gateway.client && gateway.server);
  EXPECT_EQ(gateway.server_connection->peer_role(), CertRole::Gateway);
}

TEST_F(TlsTest, AGatewaysCertificateCannotServeAnAgentLink) {
  // It is for client authentication only: a source dialling it refuses it.
  Ends ends = handshake(files("good", "edge-a"), files("good", "gw"), "127.0.0.1");
  ASSERT_FALSE(ends.client);
  EXPECT_NE(ends.client.error().message.find("certificate was refused"), std::string::npos)
      << ends.client.error().message;
}

TEST_F(TlsTest, ClientRefusesAnAgentWhoseCertificateComesFromAnotherCa) {
  Ends ends = handshake(files("good", "edge-a"), files("rogue", "edge-b"), "127.0.0.1");
  ASSERT_FALSE(ends.client);
  EXPECT_NE(ends.client.error().message.find("certificate was refused"), std::string::npos)
      << ends.client.error().message;
  EXPECT_FALSE(ends.server);
}

TEST_F(TlsTest, ClientRefusesAnAgentCertificateForAnotherName) {
  Ends ends = handshake(files("good", "edge-a"), files("good", "edge-b"), "edge-c");
  ASSERT_FALSE(ends.client);
  EXPECT_NE(ends.client.error().message.find("certificate was refused"), std::string::npos)
      << ends.client.error().message;
  EXPECT_NE(ends.client.error().hint.find("edge-c"), std::string::npos) << ends.client.error().hint;
}

TEST_F(TlsTest, AgentRefusesASourceWhoseCertificateComesFromAnotherCa) {
  // The rogue source trusts the good CA, so only the agent's check can stop it.
  Ends ends = handshake(files("rogue", "edge-b", "good"), files("good", "edge-b"), "127.0.0.1");
  ASSERT_FALSE(ends.server);
  EXPECT_NE(ends.server.error().message.find("client's certificate was refused"), std::string::npos)
      << ends.server.error().message;
}

TEST_F(TlsTest, APlainHelloIsSeenBeforeTheHandshake) {
  Result<Listener> listener = Listener::listen("127.0.0.1", 0);
  ASSERT_TRUE(listener);
  Result<Connection> client = Connection::connect("127.0.0.1", listener->port(), milliseconds(5000));
  ASSERT_TRUE(client);
  Result<std::optional<Connection>> server = listener->accept_for(milliseconds(5000));
  ASSERT_TRUE(server && server->has_value());
  std::string hello = "DOCKMIG\n";
  ASSERT_TRUE(client->write_all(std::as_bytes(std::span(hello))));
  Result<std::optional<std::byte>> first = (*server)->peek_byte(milliseconds(5000));
  ASSERT_TRUE(first && first->has_value());
  EXPECT_FALSE(starts_tls_handshake(**first));
  EXPECT_EQ(**first, std::byte{'D'});
}

TEST(TlsContext, NamesAMissingFileAndHowToMakeOne) {
  Result<std::shared_ptr<const TlsContext>> loaded =
      TlsContext::load({"/nonexistent/edge-a.pem", "/nonexistent/edge-a-key.pem", "/nonexistent/ca.pem"},
                       TlsRole::Client);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("/nonexistent/edge-a.pem"), std::string::npos);
  EXPECT_NE(loaded.error().hint.find("dockmig certs"), std::string::npos);
}

TEST(CertHosts, ParsesNamesAndAddresses) {
  Result<std::vector<CertHost>> hosts = parse_cert_hosts("edge-a=10.77.1.1,edge-b=10.77.1.2+fd00::2,gateway");
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[1].name, "edge-b");
  EXPECT_EQ((*hosts)[1].addresses, (std::vector<std::string>{"10.77.1.2", "fd00::2"}));
  EXPECT_TRUE((*hosts)[2].addresses.empty());
}

TEST(CertHosts, RefusesPathsDuplicatesAndEmptyItems) {
  for (const char* bad : {"", "edge-a,,edge-b", "../etc", "a/b", "edge-a,edge-a", "ca", "edge-a=", "edge-a=x y"})
    EXPECT_FALSE(parse_cert_hosts(bad)) << bad;
}

TEST(TransportSecurity, IsCompleteTlsFilesOrExplicitlyInsecureNeverBothNorNeither) {
  TransportSecurity tls{"a.pem", "a-key.pem", "ca.pem", "", false};
  EXPECT_TRUE(migrate::check_transport_security(tls));
  TransportSecurity plain;
  plain.insecure = true;
  EXPECT_TRUE(migrate::check_transport_security(plain));
  Status neither = migrate::check_transport_security(TransportSecurity{});
  ASSERT_FALSE(neither);
  EXPECT_NE(neither.error().hint.find("--insecure"), std::string::npos);
  EXPECT_FALSE(migrate::check_transport_security(TransportSecurity{"a.pem", "", "ca.pem", "", false}));
  EXPECT_FALSE(migrate::check_transport_security(TransportSecurity{"a.pem", "a-key.pem", "ca.pem", "", true}));
}

}  // namespace
}  // namespace dockmig::transfer
