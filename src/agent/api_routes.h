// The API's routes on a cpp-httplib server (private to src/agent; ApiServer owns the
// server). Each handler authenticates, validates and calls the queue or the host backend;
// every answer is JSON, errors included, except the event stream.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/handoff_queue.h"
#include "agent/http_api.h"
#include "agent/tokens.h"

namespace dockmig::agent {

class ApiRoutes {
 public:
  /// `fleet` null: not in a fleet; a prepare then takes agents' addresses only.
  ApiRoutes(HandoffQueue& queue, HostBackend& host, const TokenStore* tokens, int max_streams,
            const FleetBackend* fleet = nullptr)
      : queue_(queue), host_(host), tokens_(tokens), max_streams_(max_streams), fleet_(fleet) {}

  void install(httplib::Server& server);
  /// Makes open event streams end at their next wake-up (the server is stopping).
  void stop_streams() { stopping_ = true; }
  bool stopping() const { return stopping_; }
  /// A place for a long-lived answer (an event stream, a fleet watch), which holds an
  /// HTTP worker while it lasts: false when all of them are taken.
  bool take_stream();
  void give_back_stream() { --open_streams_; }

  using AuthedHandler = std::function<void(const httplib::Request&, httplib::Response&, const std::string& caller)>;
  /// Wraps a handler: 401 unless the caller has a valid token or client certificate.
  httplib::Server::Handler authed(AuthedHandler handler) const;
  /// Queues a validated handoff of a local container (its Idempotency-Key from `request`)
  /// and answers as POST /v1/handoffs does.
  void submit_handoff(const HandoffSpec& spec, const httplib::Request& request, httplib::Response& response,
                      const std::string& caller);

 private:
  std::optional<std::string> authenticate(const httplib::Request& request) const;

  void health(const httplib::Request& request, httplib::Response& response) const;
  void containers(httplib::Response& response) const;
  void list_handoffs(httplib::Response& response) const;
  void start_handoff(const httplib::Request& request, httplib::Response& response, const std::string& caller);
  void handoff_status(const std::string& id, httplib::Response& response) const;
  void handoff_events(const httplib::Request& request, const std::string& id, httplib::Response& response);
  void prepare(const httplib::Request& request, httplib::Response& response);
  /// 409 for a second handoff of a container, naming the handoff that holds it and where it goes.
  void send_busy(httplib::Response& response, const HandoffSpec& refused, const std::string& holder) const;

  HandoffQueue& queue_;
  HostBackend& host_;
  const TokenStore* tokens_;
  int max_streams_;
  const FleetBackend* fleet_;
  std::atomic<int> open_streams_{0};
  std::atomic<bool> stopping_{false};
};

/// The HTTP status for an Error's code (InvalidInput 400, NotFound 404, Conflict 409, ...).
int http_status_of(ErrorCode code);
/// {"error": {"status", "message", "hint"}} plus `extra`'s fields at the top level.
void send_error(httplib::Response& response, int status, const std::string& message, const std::string& hint = {},
                const nlohmann::json& extra = nlohmann::json::object());
void send_json(httplib::Response& response, int status, const nlohmann::json& body);
/// The access log's line for a request: method, path, client and status, nothing secret.
std::string access_line(const httplib::Request& request, const httplib::Response& response);
/// POST bodies must be JSON (415 otherwise); a missing Content-Type is let through.
bool json_content(const httplib::Request& request, httplib::Response& response);

}  // namespace dockmig::agent
