// What this agent tells the fleet about its host. Docker's and CRIU's versions are read
// once at start; the containers, images and free disk again at every renewal, since a
// gateway chooses where to hand a service from them.
#include "agent/fleet_member.h"

#include <algorithm>
#include <filesystem>

#include "checkpoint/criu.h"
#include "migrate/destination_preflight.h"

namespace dockmig::agent {
namespace {

std::string criu_version_of(const std::string& binary) {
  Result<checkpoint::Criu> criu = checkpoint::Criu::find(binary);
  if (!criu) return "";
  Result<checkpoint::CriuVersion> version = criu->version();
  return version ? version->text : "";
}

// The record as of now, from the fixed part made at start.
Result<fleet::HostRecord> describe(const fleet::HostRecord& fixed, const docker::EngineClient& engine,
                                   const std::filesystem::path& staging) {
  fleet::HostRecord record = fixed;
  Result<std::vector<std::string>> containers = engine.running_container_names();
  if (!containers) return std::move(containers.error());
  Result<std::vector<std::string>> images = engine.image_digests();
  if (!images) return std::move(images.error());
  record.containers = std::move(*containers);
  record.images = std::move(*images);
  std::sort(record.containers.begin(), record.containers.end());
  std::sort(record.images.begin(), record.images.end());
  record.staging_free_bytes = migrate::free_bytes_near(staging);
  return record;
}

std::string fleet_name(const AgentOptions& options) { return options.name.empty() ? fleet::local_host_name() : options.name; }

}  // namespace

Result<std::shared_ptr<const fleet::EtcdOwnership>> fleet_ownership(const AgentOptions& options) {
  if (options.etcd.empty()) return std::shared_ptr<const fleet::EtcdOwnership>();
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.etcd_security);
  if (!etcd) return std::move(etcd.error()).wrap("--etcd");
  return std::make_shared<const fleet::EtcdOwnership>(std::move(*etcd), fleet_name(options));
}

Result<std::unique_ptr<FleetBackend>> fleet_view(const AgentOptions& options) {
  if (options.etcd.empty()) return std::unique_ptr<FleetBackend>();
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.etcd_security);
  if (!etcd) return std::move(etcd.error()).wrap("--etcd");
  return std::unique_ptr<FleetBackend>(std::make_unique<EtcdFleet>(std::move(*etcd), fleet_name(options)));
}

Result<std::unique_ptr<fleet::Membership>> join_fleet(const AgentOptions& options,
                                                      const docker::EngineClient& engine) {
  if (options.etcd.empty()) return std::unique_ptr<fleet::Membership>();
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.etcd_security);
  if (!etcd) return std::move(etcd.error()).wrap("--etcd");
  fleet::HostRecord fixed;
  fixed.name = fleet_name(options);
  if (Status named = fleet::check_host_name(fixed.name); !named) return std::move(named.error()).wrap("--name");
  fixed.agent_address = options.listen;
  fixed.api_address = options.api;
  Result<docker::DaemonInfo> daemon = engine.info();
  if (!daemon) return std::move(daemon.error()).wrap("describing this host for the fleet");
  fixed.docker_version = daemon->server_version;
  fixed.criu_version = criu_version_of(options.criu);
  std::filesystem::path staging = std::filesystem::path(options.state_dir) / "staging";
  return fleet::Membership::join(
      std::move(*etcd), [fixed, &engine, staging] { return describe(fixed, engine, staging); },
      std::chrono::seconds(options.fleet_ttl));
}

}  // namespace dockmig::agent
