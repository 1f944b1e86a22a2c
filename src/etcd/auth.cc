#include "etcd/auth.h"

namespace dockmig::etcd {

using nlohmann::json;

json authenticate_request(std::string_view user, std::string_view password) {
  return json{{"name", user}, {"password", password}};
}

Result<std::string> parse_auth_token(const json& answer) {
  auto token = answer.find("token");
  if (token == answer.end() || !token->is_string() || token->get_ref<const std::string&>().empty())
    return make_error(ErrorCode::ToolFailed, "etcd answered an authentication without a token");
  return token->get<std::string>();
}

AuthRefusal auth_refusal(std::string_view etcd_message) {
  // etcd's rpctypes errors, as the gateway passes them on.
  auto says = [etcd_message](std::string_view words) { return etcd_message.find(words) != std::string_view::npos; };
  if (says("etcdserver: invalid auth token") || says("etcdserver: revision of auth store is old"))
    return AuthRefusal::TokenInvalid;
  if (says("etcdserver: user name is empty")) return AuthRefusal::UserMissing;
  if (says("etcdserver: authentication failed") || says("etcdserver: user name not found"))
    return AuthRefusal::BadCredentials;
  if (says("etcdserver: authentication is not enabled")) return AuthRefusal::NotEnabled;
  if (says("etcdserver: permission denied")) return AuthRefusal::PermissionDenied;
  return AuthRefusal::None;
}

bool needs_new_token(AuthRefusal refusal) {
  return refusal == AuthRefusal::TokenInvalid || refusal == AuthRefusal::UserMissing;
}

Error explain_auth_refusal(AuthRefusal refusal, std::string_view user, Error error) {
  std::string as_user = "--etcd-user `" + std::string(user) + "`";
  switch (refusal) {
    case AuthRefusal::UserMissing:
      if (user.empty()) {
        error.code = ErrorCode::InvalidInput;
        return std::move(error).with_hint("this etcd has auth enabled and requires a user: give --etcd-user and "
                                          "--etcd-password-file (docs/fleet.md, \"etcd with auth\")");
      }
      return error;
    case AuthRefusal::BadCredentials:
      error.code = ErrorCode::InvalidInput;
      return std::move(error).wrap("etcd refused " + as_user)
          .with_hint("check the user name and the password in --etcd-password-file (`etcdctl user get " +
                     std::string(user) + "` as root shows the user)");
    case AuthRefusal::PermissionDenied:
      error.code = ErrorCode::InvalidInput;
      return std::move(error).with_hint(
          (user.empty() ? std::string("this etcd has auth enabled: give --etcd-user and --etcd-password-file")
                        : "grant " + as_user + " a role with readwrite on the prefix /dockmig/") +
          " (docs/fleet.md, \"etcd with auth\")");
    case AuthRefusal::TokenInvalid:
      return std::move(error).with_hint("etcd dropped the token of " + as_user + " twice in a row; check etcd's log");
    case AuthRefusal::NotEnabled:
    case AuthRefusal::None:
      break;
  }
  return error;
}

}  // namespace dockmig::etcd
