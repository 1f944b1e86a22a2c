// GET /v1/fleet/watch?service=S&service=T[&after_revision=R] (docs/api.md, "Following the
// fleet"): NDJSON, first the owner of each service now (not after R: a client that
// reconnects has seen it), then each change of owner as it commits, for as long as the
// client stays. The etcd watch runs on the feed's thread; the HTTP worker writes what it
// hands over, a heartbeat line after WatchSettings::heartbeat of silence, and ends the
// stream (and with it the watch) when the client has hung up, a write fails, the watch
// fails, or the agent stops. Watches share the event streams' places (ApiRoutes::take_stream).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "agent/api_fleet_routes.h"
#include "agent/ownership_feed.h"

namespace dockmig::agent {
namespace {

constexpr std::chrono::milliseconds kWake{1000};  // how often the stream checks its client and the agent
constexpr std::string_view kHeartbeatLine = "{\"heartbeat\":true}\n";
constexpr size_t kMaxWatchedServices = 256;
constexpr const char* kCompactedHint =
    "reconnect without after_revision: the watch then starts with where each service runs now";

/// What one stream holds between the calls of its content provider.
struct WatchStream {
  OwnershipFeed feed;
  std::string who;  // "a,b by CALLER from ADDRESS", for the log
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  std::string end = "the client went away";
  WatchEnd how = WatchEnd::ClientGone;

  WatchStream(const FleetBackend& fleet, fleet::FollowRequest request, std::string described)
      : feed(fleet, std::move(request)), who(std::move(described)) {}
  bool write(httplib::DataSink& sink, std::string_view line) {
    if (!sink.write(line.data(), line.size())) return false;
    last_write = std::chrono::steady_clock::now();
    return true;
  }
};

std::string services_text(const std::vector<std::string>& services) {
  if (services.empty()) return "every service";
  std::string text;
  for (const std::string& service : services) text += (text.empty() ? "" : ",") + service;
  return text;
}

}  // namespace

int watch_failure_status(const Error& failure, bool resuming) {
  if (resuming && failure.code == ErrorCode::Conflict) return 410;
  if (resuming && failure.code == ErrorCode::InvalidInput) return 400;
  return 502;
}

std::optional<fleet::FollowRequest> FleetRoutes::watch_request(const httplib::Request& request,
                                                               httplib::Response& response) const {
  fleet::FollowRequest asked;
  if (request.has_param("after_revision")) {
    Result<int64_t> after = fleet::parse_revision(request.get_param_value("after_revision"));
    if (!after) {
      send_error(response, 400, "`after_revision`: " + after.error().message, after.error().hint);
      return std::nullopt;
    }
    asked.after_revision = *after;
  }
  std::vector<std::string>& services = asked.services;
  size_t count = request.get_param_value_count("service");
  if (count > kMaxWatchedServices) {
    send_error(response, 400, std::to_string(count) + " services asked: at most " +
                                  std::to_string(kMaxWatchedServices) + " in one watch",
               "leave `service` out to watch every service");
    return std::nullopt;
  }
  for (size_t i = 0; i < count; ++i) {
    std::string service = request.get_param_value("service", i);
    if (!valid_container_ref(service)) {
      send_error(response, 400, "`service=" + service.substr(0, 64) + "` is not a service name",
                 "a service is named by its container name, as `dockmig fleet where` shows it");
      return std::nullopt;
    }
    services.push_back(std::move(service));
  }
  return asked;
}

void FleetRoutes::watch(const httplib::Request& request, httplib::Response& response, const std::string& caller) {
  if (!in_fleet(response)) return;
  std::optional<fleet::FollowRequest> asked = watch_request(request, response);
  if (!asked) return;
  if (!routes_.take_stream()) {
    response.set_header("Retry-After", "10");
    return send_error(response, 503, "too many event streams and fleet watches are open",
                      "watch again later, or poll GET /v1/fleet/services/NAME");
  }
  std::string who = services_text(asked->services) + " by " + caller + " from " + request.remote_addr;
  int64_t after = asked->after_revision;
  auto stream = std::make_shared<WatchStream>(*fleet_, std::move(*asked), std::move(who));
  if (std::optional<Error> failed = stream->feed.wait_first_read()) {
    stream.reset();
    routes_.give_back_stream();
    int status = watch_failure_status(*failed, after > 0);
    return send_error(response, status, failed->message, status == 410 ? kCompactedHint : failed->hint);
  }
  spdlog::info("api: fleet watch of {}: started{}", stream->who,
               after > 0 ? " after revision " + std::to_string(after) : std::string());
  if (watches_.metrics) watches_.metrics->opened();
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");
  response.set_chunked_content_provider(
      "application/x-ndjson",
      [this, stream](size_t, httplib::DataSink& sink) {
        if (routes_.stopping()) {
          stream->end = "the agent is stopping";
          stream->how = WatchEnd::Stopping;
          sink.done();
          return true;
        }
        if (!sink.is_writable()) return false;  // hung up (api_connection.cc)
        OwnershipFeed::Taken taken = stream->feed.take(std::min(kWake, watches_.heartbeat));
        for (const std::string& line : taken.lines)
          if (!stream->write(sink, line)) return false;
        if (taken.ended) {
          std::optional<Error> failure = stream->feed.failure();
          stream->end = failure ? failure->message : "the watch ended";
          stream->how = WatchEnd::Failed;
          sink.done();
        } else if (std::chrono::steady_clock::now() - stream->last_write >= watches_.heartbeat) {
          return stream->write(sink, kHeartbeatLine);
        }
        return true;
      },
      [this, stream](bool) {
        stream->feed.stop();
        spdlog::info("api: fleet watch of {}: ended, {}", stream->who, stream->end);
        if (watches_.metrics) watches_.metrics->ended(stream->how);
        routes_.give_back_stream();
      });
}

}  // namespace dockmig::agent
