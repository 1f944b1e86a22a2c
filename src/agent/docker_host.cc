// The Docker side of the API. Listing plans every running container (its sizes come from
// the image history, the writable layer and memory statistics), so it costs about one
// stats call per container; a gateway asks for it rarely, not per handoff.
#include "agent/docker_host.h"

#include <future>
#include <optional>

#include <spdlog/spdlog.h>

#include "agent/api_routes.h"

#include "migrate/plan.h"
#include "migrate/prepare.h"

namespace dockmig::agent {

using nlohmann::json;

Result<std::string> DockerHost::resolve_container(const std::string& name_or_id) {
  Result<json> inspect = engine_.inspect_container(name_or_id);
  if (!inspect) return std::move(inspect.error());
  std::string id = inspect->value("Id", "");
  if (id.empty()) return make_error(ErrorCode::Internal, "dockerd described `" + name_or_id + "` without an Id");
  return id;
}

Result<json> DockerHost::list_containers() {
  Result<json> running = engine_.get_json("/containers/json");
  if (!running) return std::move(running.error()).wrap("listing containers");
  json containers = json::array();
  for (const json& entry : *running) {
    std::string id = entry.value("Id", "");
    Result<migrate::MigrationPlan> plan = migrate::make_plan(engine_, id);
    if (!plan) continue;  // it went away meanwhile
    json described = migrate::to_json(*plan);
    described.erase("upper_dir");  // a host path is nothing a gateway needs
    described.erase("image_layers");
    containers.push_back(std::move(described));
  }
  return json{{"containers", containers}};
}

namespace {

json prepared_json(const PrepareSpec& spec, const std::string& destination, const migrate::PrepareReport& report) {
  return json{{"destination", destination},     {"image", spec.image},
              {"container", spec.container},    {"image_source", report.image_source},
              {"wire_bytes", report.wire_bytes}, {"raw_bytes", report.raw_bytes},
              {"seconds", report.seconds}};
}

json failed_json(const std::string& destination, const Error& error) {
  return json{{"destination", destination},
              {"error", {{"status", http_status_of(error.code)}, {"message", error.message}, {"hint", error.hint}}}};
}

}  // namespace

Result<migrate::PrepareReport> DockerHost::prepare_one(const PrepareSpec& spec, const std::string& destination) const {
  migrate::PrepareRequest request;
  request.destination = destination;
  request.docker = engine_.address();
  request.image = spec.image;
  request.container = spec.container;
  request.security = security_;
  migrate::Progress quiet;
  return migrate::prepare_destination(request, quiet);
}

// Each destination on a thread of its own: warming the likely next hosts takes as long as
// the slowest of them, not their sum.
Result<json> DockerHost::prepare(const PrepareSpec& spec) {
  std::vector<std::future<Result<migrate::PrepareReport>>> running;
  for (const std::string& destination : spec.destinations)
    running.push_back(std::async(std::launch::async, [this, &spec, &destination] { return prepare_one(spec, destination); }));
  json preparations = json::array();
  std::optional<Error> first_error;
  size_t succeeded = 0;
  for (size_t i = 0; i < running.size(); ++i) {
    Result<migrate::PrepareReport> report = running[i].get();
    if (report) {
      preparations.push_back(prepared_json(spec, spec.destinations[i], *report));
      ++succeeded;
    } else {
      preparations.push_back(failed_json(spec.destinations[i], report.error()));
      if (!first_error) first_error = report.error();
    }
  }
  if (succeeded == 0) return std::move(*first_error);
  if (!spec.listed) return preparations.front();
  return json{{"preparations", preparations}};
}

migrate::MigrationOutcome DockerHost::run_handoff(const HandoffSpec& spec, migrate::Progress& progress) const {
  MigrationRequest request;
  request.container = spec.container;
  request.destination = spec.destination;
  request.docker = engine_.address();
  request.target_name = spec.options.target_name;
  request.keep_source = spec.options.keep_source;
  request.zstd_level = spec.options.zstd_level;
  request.bind_map = spec.options.bind_map;
  request.copy_binds = spec.options.copy_binds;
  request.tcp = spec.options.tcp;
  request.restore = spec.options.restore;
  request.security = security_;
  request.criu = criu_;
  request.state_dir = state_dir_;
  request.ownership = ownership_;
  if (metrics_) metrics_->started();
  migrate::MigrationOutcome outcome = migrate::run_migration(request, progress);
  if (metrics_) metrics_->ended(outcome);
  if (outcome.status)
    spdlog::info("handed {} off to {} in {:.2f} s (downtime {:.2f} s)", spec.container, spec.destination,
                 outcome.report.handoff_seconds, outcome.report.downtime_seconds);
  else
    spdlog::warn("handoff of {} to {} failed{}: {}", spec.container, spec.destination,
                 outcome.report.rolled_back ? " (the source was resumed)" : "", outcome.status.error().message);
  return outcome;
}

}  // namespace dockmig::agent
