// A preparation runs the first half of a migration ahead of time, with the container
// running and nothing frozen: the image phase, and for a container a whole-layer presync
// whose snapshot this process keeps for the handoff (warm_store).
#include "migrate/prepare.h"

#include <chrono>
#include <optional>
#include <random>

#include "docker/engine_client.h"
#include "layers/upper_snapshot.h"
#include "migrate/image_sync.h"
#include "migrate/plan.h"
#include "migrate/session.h"
#include "migrate/tree_sync.h"
#include "migrate/warm_store.h"

namespace dockmig::migrate {
Result<PrepareReport> prepare_destination(const PrepareRequest& request, Progress& progress) {
  auto start = std::chrono::steady_clock::now();
  if (request.image.empty() == request.container.empty())
    return make_error(ErrorCode::InvalidInput, "prepare needs either an image or a container, not both");
  Result<docker::EngineClient> engine = docker::EngineClient::open(request.docker);
  if (!engine) return std::move(engine.error());

  std::string image = request.image;
  std::optional<MigrationPlan> plan;
  if (!request.container.empty()) {
    Result<MigrationPlan> made = make_plan(*engine, request.container);
    if (!made) return std::move(made.error());
    if (!made->blockers.empty())
      return make_error(ErrorCode::InvalidInput, "container `" + made->container.name +
                                                     "` cannot be migrated: " + made->blockers.front());
    plan = std::move(*made);
    image = plan->container.image_ref;
  }

  Result<Session> session = Session::connect(request.destination, request.security);
  if (!session) return std::move(session.error());
  WarmState warm;
  warm.destination = request.destination;
  warm.warm_id = plan ? new_session_id() : "";
  nlohmann::json warm_message = {{"type", "warm"}, {"image", image}, {"warm", warm.warm_id},
                                 {"ttl_seconds", warm_store().ttl().count()}};
  if (plan) {
    warm_message["image_id"] = plan->container.image_id;
    warm_message["repo_digests"] = plan->image_repo_digests;
    warm_message["image_layers"] = image_layer_digests(*plan);
  }
  Status sent = session->send_message(warm_message);
  if (!sent) return std::move(sent.error());

  PrepareReport report;
  PhaseReport phase{"prepare", 0, 0, 0};
  session->set_phase("prepare");
  Result<std::string> source = supply_image(*session, *engine, image, phase, progress, 3);
  if (!source) return std::move(source.error());
  report.image_source = *source;

  if (plan) {
    Result<layers::UpperSnapshot> snapshot = layers::scan_upper_dir(plan->container.upper_dir);
    if (!snapshot) return std::move(snapshot.error());
    warm.snapshot = std::move(*snapshot);
    warm.container_started_at = plan->container.started_at;
    warm.work = warm_store().work_dir(warm.warm_id);
    std::error_code ec;
    std::filesystem::create_directories(warm.work, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create `" + warm.work.string() + "`: " + ec.message());
    uint64_t image_raw = phase.raw_bytes;
    Status synced = send_whole_tree(*session, {plan->container.upper_dir, warm.work, 3}, phase, progress);
    if (!synced) {
      std::filesystem::remove_all(warm.work, ec);
      return std::move(synced.error());
    }
    warm.raw_bytes = phase.raw_bytes - image_raw;
    warm_store().put(plan->container.id, std::move(warm));
  }
  report.wire_bytes = session->wire_bytes("prepare");
  report.raw_bytes = phase.raw_bytes;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace dockmig::migrate
