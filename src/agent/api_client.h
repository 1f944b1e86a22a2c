// A caller of another agent's HTTP API (docs/api.md), as a gateway is: `dockmig fleet
// handoff` asks the source's agent to hand a service off and follows the handoff there.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace httplib {
class Client;
}

namespace dockmig::agent {

/// How a caller proves itself to an agent's API: a bearer token, or a client certificate
/// of the agents' CA over HTTPS (docs/api.md, "Callers").
struct ApiCredentials {
  std::string token;    // "" = none
  std::string ca;       // verifies the agent's certificate (HTTPS)
  std::string cert;     // a client certificate (PEM), with its key
  std::string key;
  bool plain_http = false;  // the agent runs --insecure: its API is plain HTTP
};

struct ApiAnswer {
  int status = 0;
  nlohmann::json body;  // null when the body was not JSON
};

class ApiClient {
 public:
  /// `address`: ADDR:PORT of the agent's API (its host record's api_address).
  static Result<ApiClient> open(const std::string& address, const ApiCredentials& credentials);
  ApiClient(ApiClient&&) noexcept;
  ~ApiClient();

  Result<ApiAnswer> get(const std::string& path) const;
  Result<ApiAnswer> post(const std::string& path, const nlohmann::json& body) const;
  const std::string& base() const { return base_; }

 private:
  ApiClient(std::string base, std::unique_ptr<httplib::Client> client);

  std::string base_;  // "https://ADDR:PORT"
  std::unique_ptr<httplib::Client> client_;
};

/// An answer's error message ({"error": {"message", "hint"}}) as an Error of `what`.
Error api_error(const std::string& what, const ApiAnswer& answer);

}  // namespace dockmig::agent
