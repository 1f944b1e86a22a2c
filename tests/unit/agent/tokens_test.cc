#include "agent/tokens.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace dockmig::agent {
namespace {

constexpr const char* kGatewayToken = "gw1-0123456789abcdef";
constexpr const char* kOtherToken = "gw2-fedcba9876543210";

TEST(TokenFile, ReadsNamedAndBareTokensAndSkipsCommentsAndBlankLines) {
  std::string text = std::string("# gateways\n\ngateway-1 ") + kGatewayToken + "\r\n  " + kOtherToken + "  \n";
  Result<std::vector<TokenEntry>> entries = parse_token_file(text, "tokens");
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "gateway-1");
  EXPECT_EQ((*entries)[1].name, "token-line-4");
  TokenStore store(std::move(*entries));
  EXPECT_EQ(store.find(kGatewayToken), "gateway-1");
  EXPECT_EQ(store.find(kOtherToken), "token-line-4");
  EXPECT_FALSE(store.find("gw1-0123456789abcdeX"));
  EXPECT_FALSE(store.find(""));
}

TEST(TokenFile, ErrorsNameTheLineButNeverTheToken) {
  struct Case {
    std::string text;
    std::string says;
  };
  std::string short_token = "tooshort";
  for (const Case& c : std::vector<Case>{
           {"a b c\n", "line 1: expected"},
           {"gw " + short_token + "\n", "line 1: the token"},
           {std::string("ok ") + kGatewayToken + "\nbad/name " + kOtherToken + "\n", "line 2: the name"},
           {std::string("a ") + kGatewayToken + "\nb " + kGatewayToken + "\n", "line 2: the same token as line 1"},
           {std::string("a ") + kGatewayToken + "\na " + kOtherToken + "\n", "line 2: the name `a` is also on line 1"},
       }) {
    Result<std::vector<TokenEntry>> entries = parse_token_file(c.text, "/etc/tokens");
    ASSERT_FALSE(entries) << c.text;
    EXPECT_NE(entries.error().message.find("/etc/tokens"), std::string::npos) << entries.error().message;
    EXPECT_NE(entries.error().message.find(c.says), std::string::npos) << entries.error().message;
    for (const std::string& secret : {short_token, std::string(kGatewayToken), std::string(kOtherToken)})
      EXPECT_EQ(entries.error().describe().find(secret), std::string::npos) << entries.error().describe();
  }
}

TEST(TokenStore, ReloadSwapsTokensAndKeepsThemWhenTheFileTurnsBad) {
  std::string path = (std::filesystem::temp_directory_path() / ("dockmig-tokens-" + std::to_string(getpid()))).string();
  std::ofstream(path) << "first " << kGatewayToken << "\n";
  Result<std::unique_ptr<TokenStore>> store = TokenStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->find(kGatewayToken), "first");

  std::ofstream(path) << "second " << kOtherToken << "\n";  // the first gateway is revoked
  ASSERT_TRUE((*store)->reload());
  EXPECT_FALSE((*store)->find(kGatewayToken));
  EXPECT_EQ((*store)->find(kOtherToken), "second");

  std::ofstream(path) << "broken line here\n";
  EXPECT_FALSE((*store)->reload());
  EXPECT_EQ((*store)->find(kOtherToken), "second");
  std::filesystem::remove(path);
  EXPECT_FALSE(TokenStore::open(path));
}

TEST(BearerToken, TakesTheTokenOfABearerHeaderOnly) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_FALSE(bearer_token("Basic abc"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearer a b"));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token(""));
}

}  // namespace
}  // namespace dockmig::agent
