// A non-source agent redirects rather than forwards: it holds no credentials for other
// agents' APIs (a gateway's token is its own), and the gateway reaches the source anyway.
#include "agent/api_fleet_routes.h"

#include <spdlog/spdlog.h>

namespace dockmig::agent {

using nlohmann::json;

void FleetRoutes::install(httplib::Server& server) {
  server.Get("/v1/fleet/hosts", routes_.authed([this](const httplib::Request&, httplib::Response& response,
                                                      const std::string&) { hosts(response); }));
  server.Get(R"(/v1/fleet/services/([^/]+))", routes_.authed([this](const httplib::Request& request,
                                                                    httplib::Response& response, const std::string&) {
    service(request.matches[1], response);
  }));
  server.Get("/v1/fleet/watch", routes_.authed([this](const httplib::Request& request, httplib::Response& response,
                                                      const std::string& caller) { watch(request, response, caller); }));
  server.Post("/v1/fleet/handoff", routes_.authed([this](const httplib::Request& request, httplib::Response& response,
                                                         const std::string& caller) {
    handoff(request, response, caller);
  }));
}

bool FleetRoutes::in_fleet(httplib::Response& response) const {
  if (fleet_ != nullptr) return true;
  send_error(response, 404, "this agent is not in a fleet", "start it with `dockmig serve --etcd URL --name NAME`");
  return false;
}

void FleetRoutes::hosts(httplib::Response& response) const {
  if (!in_fleet(response)) return;
  Result<std::vector<fleet::HostRecord>> hosts = fleet_->hosts();
  if (!hosts) return send_error(response, 502, hosts.error().message, hosts.error().hint);
  json list = json::array();
  for (const fleet::HostRecord& host : *hosts) list.push_back(fleet::to_json(host));
  send_json(response, 200, {{"hosts", list}});
}

void FleetRoutes::service(const std::string& name, httplib::Response& response) const {
  if (!in_fleet(response)) return;
  if (!valid_container_ref(name)) return send_error(response, 400, "`" + name.substr(0, 64) + "` is not a service name");
  Result<fleet::ServiceLocation> location = fleet_->service(name);
  if (!location) {
    int status = location.error().code == ErrorCode::NotFound ? 404 : 502;
    return send_error(response, status, location.error().message, location.error().hint);
  }
  send_json(response, 200, fleet::to_json(*location));
}

void FleetRoutes::handoff(const httplib::Request& request, httplib::Response& response, const std::string& caller) {
  if (!in_fleet(response) || !json_content(request, response)) return;
  Result<FleetHandoffSpec> spec = parse_fleet_handoff_request(request.body);
  if (!spec) return send_error(response, 400, spec.error().message, spec.error().hint);
  Result<fleet::HandoffRoute> route = fleet_->route(spec->service, spec->to);
  if (!route) {
    ErrorCode code = route.error().code;
    int status = code == ErrorCode::NotFound ? 404 : code == ErrorCode::InvalidInput ? 409 : 502;
    return send_error(response, status, route.error().message, route.error().hint);
  }
  if (route->source.name != fleet_->self()) return send_to_source(*route, response);
  spdlog::info("api: fleet handoff of {} to {} ({}) asked by {}", spec->service, spec->to,
               route->destination.agent_address, caller);
  routes_.submit_handoff({spec->service, route->destination.agent_address, spec->options, route->destination.name},
                         request, response, caller);
}

void FleetRoutes::send_to_source(const fleet::HandoffRoute& route, httplib::Response& response) const {
  const std::string& api = route.source.api_address;
  json where = {{"source", route.source.name}, {"api_address", api}};
  if (api.empty())
    return send_error(response, 409, "`" + route.service + "` runs on `" + route.source.name + "`, which serves no API",
                      "start its agent with --api, or run `dockmig migrate` there", where);
  std::string location = std::string(secure_ ? "https://" : "http://") + api + "/v1/fleet/handoff";
  response.set_header("Location", location);
  send_error(response, 307, "`" + route.service + "` runs on `" + route.source.name + "`: ask its agent",
             "POST the same body to " + location + " (curl: --location-trusted)", where);
}

}  // namespace dockmig::agent
