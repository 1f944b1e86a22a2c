#include "agent/api_client.h"

#include <httplib.h>

namespace dockmig::agent {
namespace {

constexpr time_t kTimeoutSeconds = 30;

ErrorCode code_of_status(int status) {
  switch (status) {
    case 400: return ErrorCode::InvalidInput;
    case 404: return ErrorCode::NotFound;
    case 409: return ErrorCode::Conflict;
    case 503: return ErrorCode::Interrupted;
    case 504: return ErrorCode::Timeout;
    default: return status >= 500 ? ErrorCode::Network : ErrorCode::InvalidInput;
  }
}

Result<ApiAnswer> answer_of(const std::string& base, const std::string& what, const httplib::Result& result) {
  if (!result)
    return make_error(ErrorCode::Network, base + ": " + what + ": " + httplib::to_string(result.error()),
                      "is the agent running with --api there, and do --tls-ca / --insecure match it?");
  return ApiAnswer{result->status, nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false)};
}

}  // namespace

ApiClient::ApiClient(std::string base, std::unique_ptr<httplib::Client> client)
    : base_(std::move(base)), client_(std::move(client)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

Result<ApiClient> ApiClient::open(const std::string& address, const ApiCredentials& credentials) {
  if (address.empty())
    return make_error(ErrorCode::InvalidInput, "the agent serves no API",
                      "start it with `dockmig serve --api ADDR:PORT`");
  std::string base = (credentials.plain_http ? "http://" : "https://") + address;
  auto client = credentials.cert.empty() ? std::make_unique<httplib::Client>(base)
                                         : std::make_unique<httplib::Client>(base, credentials.cert, credentials.key);
  if (!client->is_valid()) return make_error(ErrorCode::InvalidInput, "cannot call `" + base + "`");
  if (!credentials.ca.empty()) client->set_ca_cert_path(credentials.ca);
  if (!credentials.token.empty()) client->set_bearer_token_auth(credentials.token);
  client->set_connection_timeout(10);
  client->set_read_timeout(kTimeoutSeconds);
  client->set_write_timeout(kTimeoutSeconds);
  return ApiClient(std::move(base), std::move(client));
}

Result<ApiAnswer> ApiClient::get(const std::string& path) const {
  httplib::Result result = client_->Get(path);
  return answer_of(base_, "GET " + path, result);
}

Result<ApiAnswer> ApiClient::post(const std::string& path, const nlohmann::json& body) const {
  httplib::Result result = client_->Post(path, body.dump(), "application/json");
  return answer_of(base_, "POST " + path, result);
}

Error api_error(const std::string& what, const ApiAnswer& answer) {
  const nlohmann::json* error = answer.body.is_object() && answer.body.contains("error") ? &answer.body["error"] : nullptr;
  std::string message = error ? error->value("message", "") : "";
  std::string hint = error ? error->value("hint", "") : "";
  if (message.empty()) message = "HTTP " + std::to_string(answer.status);
  return make_error(code_of_status(answer.status), what + ": " + message, hint);
}

}  // namespace dockmig::agent
