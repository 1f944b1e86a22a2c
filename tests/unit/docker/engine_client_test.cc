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

TEST(PullPath, SplitsARegistryPortFromTheTag) {
  Result<std::string> path = pull_path("10.77.9.1:5000/dockmig/tiny:1");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, "/images/create?fromImage=10.77.9.1%3A5000%2Fdockmig%2Ftiny&tag=1");
}

TEST(PullPath, PullsADigestReferenceByItsDigest) {
  std::string digest = "sha256:" + std::string(64, 'c');
  Result<std::string> path = pull_path("10.77.9.1:5000/dockmig/tiny@" + digest);
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, "/images/create?fromImage=10.77.9.1%3A5000%2Fdockmig%2Ftiny&tag=sha256%3A" + std::string(64, 'c'));
}

TEST(PullPath, PullsLatestWhenNoTagIsGiven) {
  Result<std::string> path = pull_path("localhost:5000/app");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, "/images/create?fromImage=localhost%3A5000%2Fapp&tag=latest");
}

TEST(PullPath, RefusesWhatIsNotAReference) {
  Result<std::string> path = pull_path("app@sha256:12");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(path.error().message.find("pulling `app@sha256:12`"), std::string::npos) << path.error().message;
}

}  // namespace
}  // namespace dockmig::docker
