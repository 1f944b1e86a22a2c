// The API's handlers. A caller is authenticated before anything is looked at (401 with
// nothing changed), bodies are validated before anything acts on them (400), and each
// answer is JSON. The event stream replays a handoff's events from the start (or after
// Last-Event-ID), so a gateway that connects late or reconnects still sees every phase.
#include "agent/api_routes.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <charconv>
#include <random>

#include <spdlog/spdlog.h>

#include "agent/prepare_hosts.h"

namespace dockmig::agent {
namespace {

using nlohmann::json;
constexpr std::chrono::milliseconds kStreamWake{1000};     // how often a stream checks for its end
constexpr std::chrono::seconds kStreamKeepAlive{15};       // a comment line, so dead clients show up
constexpr size_t kListedHandoffs = 100;

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

/// The CN of a verified client certificate, else "".
std::string certificate_name(const httplib::Request& request) {
  if (request.ssl == nullptr) return "";
  X509* peer = SSL_get0_peer_certificate(request.ssl);
  if (peer == nullptr || SSL_get_verify_result(request.ssl) != X509_V_OK) return "";
  char name[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
  return name[0] != '\0' ? std::string("cert:") + name : "";
}

uint64_t last_event_id(const httplib::Request& request) {
  std::string text = request.has_header("Last-Event-ID") ? request.get_header_value("Last-Event-ID")
                                                         : request.get_param_value("after");
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string sse(const HandoffEvent& event) {
  return "id: " + std::to_string(event.id) + "\nevent: " + event.name + "\ndata: " + dump(event.data) + "\n\n";
}

json handoff_links(const std::string& id) {
  return {{"status", "/v1/handoffs/" + id}, {"events", "/v1/handoffs/" + id + "/events"}};
}

/// What httplib's own refusals mean, for their JSON bodies.
std::string reason_of(int status) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "no such path";
    case 405: return "method not allowed here";
    case 408: return "the request took too long to arrive";
    case 413: return "the body is too large";
    case 414: return "the URI is too long";
    case 416: return "range not satisfiable";
    case 431: return "the headers are too large";
    default: return "HTTP error " + std::to_string(status);
  }
}

std::string new_preparation_id() {
  static std::mutex mutex;
  static std::random_device random;
  std::lock_guard lock(mutex);
  char text[24];
  std::snprintf(text, sizeof text, "prepare-%08x", random());
  return text;
}

}  // namespace

bool json_content(const httplib::Request& request, httplib::Response& response) {
  std::string type = request.get_header_value("Content-Type");
  if (type.empty() || type.rfind("application/json", 0) == 0) return true;
  send_error(response, 415, "the body must be JSON, not `" + type.substr(0, 64) + "`",
             "send it with `Content-Type: application/json`");
  return false;
}

int http_status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput: return 400;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::Conflict: return 409;
    case ErrorCode::Unsupported: return 501;
    case ErrorCode::ToolFailed:
    case ErrorCode::Network: return 502;
    case ErrorCode::Interrupted: return 503;
    case ErrorCode::Timeout: return 504;
    case ErrorCode::Io:
    case ErrorCode::Internal: return 500;
  }
  return 500;
}

// Never the headers nor the query: Authorization carries a token.
std::string access_line(const httplib::Request& request, const httplib::Response& response) {
  return "api: " + request.method + " " + request.path + " from " + request.remote_addr + ": " +
         std::to_string(response.status);
}

void send_json(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(dump(body) + "\n", "application/json");
}

void send_error(httplib::Response& response, int status, const std::string& message, const std::string& hint,
                const json& extra) {
  json body = extra.is_object() ? extra : json::object();
  body["error"] = {{"status", status}, {"message", message}};
  if (!hint.empty()) body["error"]["hint"] = hint;
  send_json(response, status, body);
}

void ApiRoutes::install(httplib::Server& server) {
  server.Get("/v1/health", [this](const httplib::Request& request, httplib::Response& response) {
    health(request, response);
  });
  server.Get("/v1/containers", authed([this](const httplib::Request&, httplib::Response& response, const std::string&) {
    containers(response);
  }));
  server.Get("/v1/handoffs", authed([this](const httplib::Request&, httplib::Response& response, const std::string&) {
    list_handoffs(response);
  }));
  server.Post("/v1/handoffs", authed([this](const httplib::Request& request, httplib::Response& response,
                                            const std::string& caller) { start_handoff(request, response, caller); }));
  server.Get(R"(/v1/handoffs/([^/]+))", authed([this](const httplib::Request& request, httplib::Response& response,
                                                      const std::string&) {
    handoff_status(request.matches[1], response);
  }));
  server.Get(R"(/v1/handoffs/([^/]+)/events)", authed([this](const httplib::Request& request,
                                                             httplib::Response& response, const std::string&) {
    handoff_events(request, request.matches[1], response);
  }));
  server.Post("/v1/prepare", authed([this](const httplib::Request& request, httplib::Response& response,
                                           const std::string&) { prepare(request, response); }));
  // Debug only: gateways poll, and an operator wants handoffs (logged where they start), not polls.
  server.set_logger([](const httplib::Request& request, const httplib::Response& response) {
    spdlog::debug("{}", access_line(request, response));
  });
  // Every other answer >= 400 (no such route, a body over the limit, a malformed request)
  // gets a JSON body too, unless a handler already wrote one.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string hint = response.status == 413 ? "bodies are at most 64 KiB"
                       : response.status == 404 ? "the API is under /v1; see docs/api.md"
                                                : "";
    send_error(response, response.status, reason_of(response.status), hint);
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request& request, httplib::Response& response, std::exception_ptr thrown) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("api: {} {}: internal error: {}", request.method, request.path, what);
    send_error(response, 500, "internal error: " + what, "this is a bug in dockmig; the agent keeps serving");
  });
}

httplib::Server::Handler ApiRoutes::authed(AuthedHandler handler) const {
  return [this, handler](const httplib::Request& request, httplib::Response& response) {
    std::optional<std::string> caller = authenticate(request);
    if (!caller) {
      response.set_header("WWW-Authenticate", "Bearer realm=\"dockmig\"");
      send_error(response, 401, "no valid credentials",
                 "send `Authorization: Bearer TOKEN` with a token from the agent's --tokens file"
                 " (or a client certificate of its CA over HTTPS)");
      spdlog::warn("api: {} {} from {}: refused, no valid credentials", request.method, request.path,
                   request.remote_addr);
      return;
    }
    handler(request, response, *caller);
  };
}

std::optional<std::string> ApiRoutes::authenticate(const httplib::Request& request) const {
  // A token that is present but wrong is refused even over a valid client certificate:
  // the caller meant the token, and a revoked one must not fall back to anything.
  if (request.has_header("Authorization")) {
    std::string authorization = request.get_header_value("Authorization");  // token views into it
    std::optional<std::string_view> token = bearer_token(authorization);
    if (!token || tokens_ == nullptr) return std::nullopt;
    return tokens_->find(*token);
  }
  std::string name = certificate_name(request);
  if (name.empty()) return std::nullopt;
  return name;
}

void ApiRoutes::health(const httplib::Request& request, httplib::Response& response) const {
  json body = {{"status", "ok"}, {"version", DOCKMIG_VERSION}};
  if (authenticate(request)) body["handoffs"] = {{"running", queue_.running()}, {"queued", queue_.queued()}};
  send_json(response, 200, body);
}

void ApiRoutes::containers(httplib::Response& response) const {
  Result<json> listed = host_.list_containers();
  if (!listed) return send_error(response, http_status_of(listed.error().code), listed.error().message, listed.error().hint);
  for (json& container : (*listed)["containers"]) {
    std::optional<std::string> holder = queue_.holder_of(container.value("id", ""));
    if (holder) container["handoff"] = *holder;
  }
  send_json(response, 200, *listed);
}

void ApiRoutes::list_handoffs(httplib::Response& response) const {
  json handoffs = json::array();
  for (const HandoffStatus& status : queue_.recent(kListedHandoffs)) {
    json entry = to_json(status);
    entry.erase("report");
    handoffs.push_back(std::move(entry));
  }
  send_json(response, 200, {{"handoffs", handoffs}});
}

void ApiRoutes::start_handoff(const httplib::Request& request, httplib::Response& response, const std::string& caller) {
  if (!json_content(request, response)) return;
  Result<HandoffSpec> spec = parse_handoff_request(request.body);
  if (!spec) return send_error(response, 400, spec.error().message, spec.error().hint);
  submit_handoff(*spec, request, response, caller);
}

void ApiRoutes::submit_handoff(const HandoffSpec& spec, const httplib::Request& request, httplib::Response& response,
                               const std::string& caller) {
  std::string key = request.get_header_value("Idempotency-Key");
  if (request.has_header("Idempotency-Key"))
    if (Status valid = check_idempotency_key(key); !valid)
      return send_error(response, 400, valid.error().message, valid.error().hint);
  std::optional<Submission> submission = queue_.replay_of(spec, caller, key);
  if (!submission) {
    Result<std::string> container = host_.resolve_container(spec.container);
    if (!container)
      return send_error(response, http_status_of(container.error().code), container.error().message,
                        container.error().hint);
    submission = queue_.submit(spec, *container, caller, key);
  }
  const std::string& id = submission->id;
  switch (submission->outcome) {
    case Submission::Outcome::Accepted:
      spdlog::info("api: handoff {} of {} to {} asked by {}", id, spec.container, spec.destination, caller);
      [[fallthrough]];
    case Submission::Outcome::Replayed: {
      std::optional<HandoffStatus> status = queue_.status(id);
      response.set_header("Location", "/v1/handoffs/" + id);
      if (submission->outcome == Submission::Outcome::Replayed) response.set_header("Idempotent-Replayed", "true");
      return send_json(response, 202, {{"id", id},
                                       {"state", status ? state_text(*status) : "unknown"},
                                       {"links", handoff_links(id)}});
    }
    case Submission::Outcome::KeyReused:
      return send_error(response, 422, "this Idempotency-Key was used for another request (handoff " + id + ")",
                        "use a new key for a new request", {{"handoff", id}});
    case Submission::Outcome::ContainerBusy:
      return send_busy(response, spec, id);
    case Submission::Outcome::QueueFull:
      response.set_header("Retry-After", "10");
      return send_error(response, 503, "too many handoffs are waiting", "ask again later");
    case Submission::Outcome::Stopping:
      return send_error(response, 503, "the agent is stopping", "ask again once it runs");
  }
}

void ApiRoutes::handoff_status(const std::string& id, httplib::Response& response) const {
  std::optional<HandoffStatus> status = valid_handoff_id(id) ? queue_.status(id) : std::nullopt;
  if (!status) return send_error(response, 404, "no handoff `" + id.substr(0, 32) + "` here",
                                 "ids come from POST /v1/handoffs; ended handoffs are kept for a while only");
  send_json(response, 200, to_json(*status));
}

void ApiRoutes::handoff_events(const httplib::Request& request, const std::string& id, httplib::Response& response) {
  if (!valid_handoff_id(id) || !queue_.status(id))
    return send_error(response, 404, "no handoff `" + id.substr(0, 32) + "` here",
                      "ids come from POST /v1/handoffs; ended handoffs are kept for a while only");
  if (!take_stream()) {
    response.set_header("Retry-After", "10");
    return send_error(response, 503, "too many event streams are open", "poll GET /v1/handoffs/" + id + " instead");
  }
  struct Cursor {
    uint64_t after;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto cursor = std::make_shared<Cursor>(Cursor{last_event_id(request)});
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");
  response.set_chunked_content_provider(
      "text/event-stream",
      [this, id, cursor](size_t, httplib::DataSink& sink) {
        std::vector<HandoffEvent> events;
        bool ended = false;
        if (stopping_ || !queue_.events_after(id, cursor->after, kStreamWake, events, ended)) {
          sink.done();
          return true;
        }
        for (const HandoffEvent& event : events) {
          std::string text = sse(event);
          if (!sink.write(text.data(), text.size())) return false;
          cursor->after = event.id;
          cursor->last_write = std::chrono::steady_clock::now();
        }
        if (ended) {
          sink.done();
        } else if (std::chrono::steady_clock::now() - cursor->last_write > kStreamKeepAlive) {
          static constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
          if (!sink.write(kKeepAlive.data(), kKeepAlive.size())) return false;
          cursor->last_write = std::chrono::steady_clock::now();
        }
        return true;
      },
      [this](bool) { give_back_stream(); });
}

bool ApiRoutes::take_stream() {
  if (open_streams_.fetch_add(1) < max_streams_) return true;
  --open_streams_;
  return false;
}

void ApiRoutes::send_busy(httplib::Response& response, const HandoffSpec& refused, const std::string& holder) const {
  json details = {{"handoff", holder}};
  std::string where;
  if (std::optional<HandoffStatus> winner = queue_.status(holder)) {
    const HandoffSpec& won = winner->spec;
    details["destination"] = won.destination;
    where = ", to " + won.destination;
    if (!won.destination_host.empty()) {
      details["destination_host"] = won.destination_host;
      where = ", to `" + won.destination_host + "` (" + won.destination + ")";
    }
  }
  send_error(response, 409, "container `" + refused.container + "` already has a handoff: " + holder + where,
             "one handoff per container at a time; follow GET /v1/handoffs/" + holder, details);
}

void ApiRoutes::prepare(const httplib::Request& request, httplib::Response& response) {
  if (!json_content(request, response)) return;
  Result<PrepareSpec> spec = parse_prepare_request(request.body);
  if (!spec) return send_error(response, 400, spec.error().message, spec.error().hint);
  Result<std::vector<std::string>> host_names = resolve_prepare_hosts(*spec, fleet_);
  if (!host_names)
    return send_error(response, http_status_of(host_names.error().code), host_names.error().message,
                      host_names.error().hint);
  std::optional<HandoffQueue::Claim> claim;
  if (!spec->container.empty()) {
    Result<std::string> container = host_.resolve_container(spec->container);
    if (!container)
      return send_error(response, http_status_of(container.error().code), container.error().message,
                        container.error().hint);
    std::string holder = new_preparation_id();
    Result<HandoffQueue::Claim> claimed = queue_.claim(*container, holder);
    if (!claimed) {
      std::optional<std::string> busy = queue_.holder_of(*container);
      return send_error(response, 409, claimed.error().message, claimed.error().hint,
                        {{"handoff", busy.value_or("")}});
    }
    claim.emplace(std::move(*claimed));
  }
  Result<json> prepared = host_.prepare(*spec);
  if (!prepared)
    return send_error(response, http_status_of(prepared.error().code), prepared.error().message,
                      prepared.error().hint);
  name_prepared_hosts(*prepared, *host_names);
  send_json(response, 200, *prepared);
}

}  // namespace dockmig::agent
