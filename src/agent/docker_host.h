// The API's view of this host through Docker: containers by name or id, what each would
// send in a handoff (migrate::make_plan), preparations (migrate::prepare_destination), and
// the handoffs themselves, run as `dockmig migrate` would run them from here.
#pragma once

#include <memory>
#include <string>

#include "agent/handoff_metrics.h"
#include "agent/http_api.h"
#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "migrate/prepare.h"
#include "migrate/source_migration.h"

namespace dockmig::agent {

class DockerHost : public HostBackend {
 public:
  /// `security` protects the links this host opens to destination agents; `criu` runs the
  /// page server of its handoffs' dumps.
  /// `state_dir` keeps the journal of its handoffs (`dockmig recover`); with `ownership`
  /// (--etcd) they commit through the fleet's records. `metrics`, when given, counts them.
  DockerHost(docker::EngineClient engine, TransportSecurity security, std::string criu, std::string state_dir,
             std::shared_ptr<const migrate::Ownership> ownership = nullptr, HandoffMetrics* metrics = nullptr)
      : engine_(std::move(engine)), security_(std::move(security)), criu_(std::move(criu)),
        state_dir_(std::move(state_dir)), ownership_(std::move(ownership)), metrics_(metrics) {}

  Result<std::string> resolve_container(const std::string& name_or_id) override;
  Result<nlohmann::json> list_containers() override;
  /// Warms every destination of `spec` at once; fails only when none could be warmed.
  Result<nlohmann::json> prepare(const PrepareSpec& spec) override;

  /// A handoff, as HandoffQueue's Runner: migrate::run_migration from this host.
  migrate::MigrationOutcome run_handoff(const HandoffSpec& spec, migrate::Progress& progress) const;

 private:
  Result<migrate::PrepareReport> prepare_one(const PrepareSpec& spec, const std::string& destination) const;

  docker::EngineClient engine_;
  TransportSecurity security_;
  std::string criu_;
  std::string state_dir_;
  std::shared_ptr<const migrate::Ownership> ownership_;
  HandoffMetrics* metrics_;
};

}  // namespace dockmig::agent
