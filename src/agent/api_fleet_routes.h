// The API's view of the fleet (docs/api.md, "The fleet"): any agent with --etcd answers
// GET /v1/fleet/hosts, /v1/fleet/services/NAME and the stream /v1/fleet/watch
// (api_fleet_watch.cc), and takes POST /v1/fleet/handoff
// {service, to}: the service's source, by its ownership record, runs the handoff; an agent
// that is not the source answers 307 with the source's API in Location.
#pragma once

#include <httplib.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/api_routes.h"
#include "agent/fleet_backend.h"
#include "agent/watch_metrics.h"

namespace dockmig::agent {

/// How GET /v1/fleet/watch streams.
struct WatchSettings {
  WatchMetrics* metrics = nullptr;                                 // counts the watches; null: not counted
  std::chrono::milliseconds heartbeat{std::chrono::seconds(15)};  // a heartbeat line after this much silence
};

class FleetRoutes {
 public:
  /// `fleet` null: the agent runs without --etcd, and the routes say so (404).
  /// `secure`: this API is HTTPS, and so are the other agents' it points to.
  FleetRoutes(ApiRoutes& routes, const FleetBackend* fleet, bool secure, WatchSettings watches = {})
      : routes_(routes), fleet_(fleet), secure_(secure), watches_(watches) {}

  void install(httplib::Server& server);

 private:
  bool in_fleet(httplib::Response& response) const;
  void hosts(httplib::Response& response) const;
  void service(const std::string& name, httplib::Response& response) const;
  void watch(const httplib::Request& request, httplib::Response& response, const std::string& caller);
  /// The `service` and `after_revision` parameters of a watch; none (after a 400) when
  /// one is not a name or not a revision.
  std::optional<fleet::FollowRequest> watch_request(const httplib::Request& request, httplib::Response& response) const;
  void handoff(const httplib::Request& request, httplib::Response& response, const std::string& caller);
  void send_to_source(const fleet::HandoffRoute& route, httplib::Response& response) const;

  ApiRoutes& routes_;
  const FleetBackend* fleet_;
  bool secure_;
  WatchSettings watches_;
};

/// The status of a watch whose first read failed: 410 Gone when the revision it resumes
/// after is compacted away, 400 when that revision is ahead of etcd, else 502 (etcd's error).
int watch_failure_status(const Error& failure, bool resuming);

}  // namespace dockmig::agent
