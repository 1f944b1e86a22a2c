// The agent's HTTP API for edge gateways (docs/api.md): JSON under /v1, callers
// authenticated by bearer token or client certificate, served by cpp-httplib on its own
// threads. Handlers only validate, authenticate and call the queue or the host backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/api_request.h"
#include "agent/fleet_backend.h"
#include "agent/handoff_queue.h"
#include "agent/tokens.h"
#include "agent/watch_metrics.h"
#include "dockmig/result.h"
#include "metrics/registry.h"
#include "transfer/tls.h"

namespace dockmig::agent {

/// What the API needs from this host besides the queue: Docker in the agent, a fake in tests.
class HostBackend {
 public:
  virtual ~HostBackend() = default;
  /// The full id of a local container; NotFound when there is none.
  virtual Result<std::string> resolve_container(const std::string& name_or_id) = 0;
  /// GET /v1/containers: {"containers": [{"id", "name", ...}]}.
  virtual Result<nlohmann::json> list_containers() = 0;
  /// POST /v1/prepare, once validated and the container (if any) claimed.
  virtual Result<nlohmann::json> prepare(const PrepareSpec& spec) = 0;
};

struct ApiConfig {
  std::string listen;                     // ADDR:PORT
  std::optional<transfer::TlsFiles> tls;  // HTTPS; a client certificate of the CA then
                                          // authenticates a caller too. Plain HTTP without.
  const TokenStore* tokens = nullptr;     // bearer tokens; null = client certificates only
  const FleetBackend* fleet = nullptr;    // the fleet's records (--etcd); null = not in a fleet
  std::chrono::seconds read_timeout{10};  // a client silent this long mid-request is dropped
  int threads = 16;                       // connections served at once; one client address
                                          // has at most half of them, plus one
  std::chrono::seconds request_deadline{30};  // a request not read whole by then is dropped
  const metrics::Registry* metrics = nullptr;  // served at GET /metrics; null = no such route
  WatchMetrics* watch_metrics = nullptr;       // counts fleet watches (in `metrics`); null = not counted
  std::chrono::milliseconds watch_heartbeat{std::chrono::seconds(15)};  // a fleet watch's line after this much silence
};

class ApiServer {
 public:
  /// Binds `config.listen` and serves on its own threads until stop().
  static Result<std::unique_ptr<ApiServer>> start(const ApiConfig& config, HandoffQueue& queue, HostBackend& host);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  /// Stops accepting, ends event streams, waits for the server's threads.
  void stop();
  uint16_t port() const { return port_; }
  bool secure() const { return secure_; }

 private:
  struct State;
  explicit ApiServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
  bool secure_ = false;
};

}  // namespace dockmig::agent
