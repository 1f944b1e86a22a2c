#include "etcd/client.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

namespace dockmig::etcd {
namespace {

TEST(EtcdClient, TakesSeveralCommaSeparatedEndpoints) {
  Result<Client> client = Client::open("http://10.77.9.1:2379/,https://10.77.9.2:2379");
  ASSERT_TRUE(client) << client.error().message;
  ASSERT_EQ(client->endpoints().size(), 2u);
  EXPECT_EQ(client->endpoints()[0], "http://10.77.9.1:2379");
  EXPECT_EQ(client->endpoints_text(), "http://10.77.9.1:2379,https://10.77.9.2:2379");
}

TEST(EtcdClient, RefusesAnEndpointWithoutScheme) {
  Result<Client> client = Client::open("10.77.9.1:2379");
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(client.error().hint.find("http://"), std::string::npos);
  EXPECT_FALSE(Client::open(","));
}

// Nothing listens on port 9 (discard) here: the connection is refused at once.
TEST(EtcdClient, AnUnreachableEndpointIsANetworkErrorNamingIt) {
  Result<Client> client = Client::open("http://127.0.0.1:9", {}, std::chrono::milliseconds(500));
  ASSERT_TRUE(client);
  Result<std::optional<KeyValue>> got = client->get("/k");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Network);
  EXPECT_NE(got.error().message.find("etcd at http://127.0.0.1:9: POST /v3/kv/range"), std::string::npos)
      << got.error().message;
}

TEST(EtcdClient, AUserNeedsAPasswordFileAndTheFileAPassword) {
  ClientSecurity user_only;
  user_only.user = "dockmig";
  Result<Client> no_file = Client::open("http://127.0.0.1:9", user_only);
  ASSERT_FALSE(no_file);
  EXPECT_NE(no_file.error().message.find("--etcd-password-file"), std::string::npos) << no_file.error().message;

  std::filesystem::path empty = std::filesystem::temp_directory_path() / ("dockmig-empty-password-" + std::to_string(::getpid()));
  std::ofstream(empty) << "\n";
  ClientSecurity with_empty = user_only;
  with_empty.password_file = empty.string();
  Result<Client> no_password = Client::open("http://127.0.0.1:9", with_empty);
  std::filesystem::remove(empty);
  ASSERT_FALSE(no_password);
  EXPECT_EQ(no_password.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(no_password.error().message.find("no password"), std::string::npos) << no_password.error().message;
}

}  // namespace
}  // namespace dockmig::etcd
