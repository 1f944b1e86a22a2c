#include "etcd/auth.h"

#include <gtest/gtest.h>

namespace dockmig::etcd {
namespace {

using nlohmann::json;

TEST(EtcdAuth, TheRequestNamesTheUserAndPassword) {
  EXPECT_EQ(authenticate_request("dockmig", "s3cret"), (json{{"name", "dockmig"}, {"password", "s3cret"}}));
}

TEST(EtcdAuth, TakesTheTokenFromTheAnswer) {
  Result<std::string> token = parse_auth_token(json{{"header", json::object()}, {"token", "abc.12"}});
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(*token, "abc.12");
  EXPECT_FALSE(parse_auth_token(json{{"header", json::object()}}));
  EXPECT_FALSE(parse_auth_token(json{{"token", ""}}));
}

// etcd 3.4's messages, as its gateway answers them (rpctypes).
TEST(EtcdAuth, SortsEtcdsRefusals) {
  EXPECT_EQ(auth_refusal("etcd at http://a:2379: POST /v3/kv/put: etcdserver: invalid auth token (HTTP 401)"),
            AuthRefusal::TokenInvalid);
  EXPECT_EQ(auth_refusal("etcdserver: revision of auth store is old"), AuthRefusal::TokenInvalid);
  EXPECT_EQ(auth_refusal("etcdserver: user name is empty"), AuthRefusal::UserMissing);
  EXPECT_EQ(auth_refusal("etcdserver: authentication failed, invalid user ID or password"),
            AuthRefusal::BadCredentials);
  EXPECT_EQ(auth_refusal("etcdserver: authentication is not enabled"), AuthRefusal::NotEnabled);
  EXPECT_EQ(auth_refusal("etcdserver: permission denied"), AuthRefusal::PermissionDenied);
  EXPECT_EQ(auth_refusal("etcdserver: no leader"), AuthRefusal::None);
}

TEST(EtcdAuth, OnlyAMissingOrInvalidTokenIsWorthANewOne) {
  EXPECT_TRUE(needs_new_token(AuthRefusal::TokenInvalid));
  EXPECT_TRUE(needs_new_token(AuthRefusal::UserMissing));
  EXPECT_FALSE(needs_new_token(AuthRefusal::BadCredentials));
  EXPECT_FALSE(needs_new_token(AuthRefusal::PermissionDenied));
  EXPECT_FALSE(needs_new_token(AuthRefusal::None));
}

TEST(EtcdAuth, AWrongPasswordNamesTheUserAndWhatToCheck) {
  Error error = explain_auth_refusal(AuthRefusal::BadCredentials, "dockmig",
                                     make_error(ErrorCode::InvalidInput, "etcdserver: authentication failed"));
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_NE(error.message.find("--etcd-user `dockmig`"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("etcdserver: authentication failed"), std::string::npos) << error.message;
  EXPECT_NE(error.hint.find("--etcd-password-file"), std::string::npos) << error.hint;
}

TEST(EtcdAuth, WithoutAUserItSaysEtcdRequiresOne) {
  Error error = explain_auth_refusal(AuthRefusal::UserMissing, "",
                                     make_error(ErrorCode::InvalidInput, "etcdserver: user name is empty"));
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_NE(error.hint.find("requires a user"), std::string::npos) << error.hint;
  EXPECT_NE(error.hint.find("--etcd-user"), std::string::npos) << error.hint;
}

TEST(EtcdAuth, PermissionDeniedNamesTheRoleToGrant) {
  Error error = explain_auth_refusal(AuthRefusal::PermissionDenied, "dockmig",
                                     make_error(ErrorCode::ToolFailed, "etcdserver: permission denied"));
  EXPECT_NE(error.hint.find("/dockmig/"), std::string::npos) << error.hint;
  Error other = explain_auth_refusal(AuthRefusal::None, "dockmig", make_error(ErrorCode::Network, "no leader"));
  EXPECT_EQ(other.message, "no leader");
  EXPECT_TRUE(other.hint.empty());
}

}  // namespace
}  // namespace dockmig::etcd
