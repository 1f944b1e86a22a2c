// The agent in the fleet: with `serve --etcd`, its record in etcd (fleet::Membership),
// described from this host's dockerd, CRIU and staging dir.
#pragma once

#include <memory>

#include "agent/agent.h"
#include "agent/fleet_backend.h"
#include "docker/engine_client.h"
#include "fleet/etcd_ownership.h"
#include "fleet/membership.h"

namespace dockmig::agent {

/// Registers this agent in the fleet at `options.etcd`; null when it has no --etcd.
Result<std::unique_ptr<fleet::Membership>> join_fleet(const AgentOptions& options,
                                                      const docker::EngineClient& engine);

/// The fleet's ownership records as this host sees them; null when it has no --etcd.
Result<std::shared_ptr<const fleet::EtcdOwnership>> fleet_ownership(const AgentOptions& options);

/// The fleet as the API shows it (GET /v1/fleet/…, POST /v1/fleet/handoff); null when it
/// has no --etcd.
Result<std::unique_ptr<FleetBackend>> fleet_view(const AgentOptions& options);

}  // namespace dockmig::agent
