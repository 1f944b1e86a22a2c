#include "docker/engine_client.h"

#include <gtest/gtest.h>

namespace dockmig::docker {
namespace {

TEST(EngineClient, RefusesAnAddressThatIsNotAUnixSocket) {
  Result<EngineClient> client = EngineClient::open("tcp://10.0.0.1:2375");
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(client.error().hint.find("unix://"), std::string::npos);
}

TEST(EngineClient, SaysWhenNoDaemonListensAtTheSocket) {
  Result<EngineClient> client = EngineClient::open("unix:///nonexistent/docker.sock");
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::NotFound);
  EXPECT_NE(client.error().message.find("/nonexistent/docker.sock"), std::string::npos);
}

TEST(UrlEncode, EscapesEverythingButUnreservedCharacters) {
  EXPECT_EQ(url_encode("web-1_a.b~"), "web-1_a.b~");
  EXPECT_EQ(url_encode("a/b c"), "a%2Fb%20c");
}

}  // namespace
}  // namespace dockmig::docker
