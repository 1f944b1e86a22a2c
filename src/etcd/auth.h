// etcd's user/password auth (etcd's "simple" or JWT tokens): the request that trades a
// user's password for a token, and what etcd's refusals mean for the client, apart from
// the transport so they can be tested without an etcd.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace dockmig::etcd {

/// The body of POST /v3/auth/authenticate. It holds the password: never log it.
nlohmann::json authenticate_request(std::string_view user, std::string_view password);
/// The token from etcd's answer to it.
Result<std::string> parse_auth_token(const nlohmann::json& answer);

/// What an error answer of etcd says about auth, by etcd's message.
enum class AuthRefusal {
  None,             // not about auth
  TokenInvalid,     // the token expired (simple tokens: 5 min unused) or etcd restarted
  UserMissing,      // auth is on in etcd and the request carried no token
  BadCredentials,   // no such user, or a wrong password
  NotEnabled,       // an authenticate while auth is off in etcd
  PermissionDenied, // the user's roles do not cover the key
};
AuthRefusal auth_refusal(std::string_view etcd_message);

/// Whether the client should authenticate again and repeat the request once: the
/// refusal says the request carried no valid token (it was not applied).
bool needs_new_token(AuthRefusal refusal);

/// The refusal said in dockmig's terms, with what to do (`user`: --etcd-user, "" if none).
Error explain_auth_refusal(AuthRefusal refusal, std::string_view user, Error error);

}  // namespace dockmig::etcd
