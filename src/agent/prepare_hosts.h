// POST /v1/prepare may name its likely next hosts by their fleet names rather than ADDR:PORT
// (docs/api.md, "Preparing a destination"): the agent reads each one's agent address from
// the fleet's host records, as a fleet handoff to that name would.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/api_request.h"
#include "agent/fleet_backend.h"
#include "dockmig/result.h"

namespace dockmig::agent {

/// Replaces each destination of `spec` given as a fleet host name with that host's agent
/// address. Returns the name given for each destination ("" for one given as ADDR:PORT).
/// NotFound for an unknown (or dead) host, or when `fleet` is null (no --etcd) and a name
/// was given; InvalidInput when two entries end up at the same agent.
Result<std::vector<std::string>> resolve_prepare_hosts(PrepareSpec& spec, const FleetBackend* fleet);

/// Adds `"host": NAME` to each preparation of `answer` (one, or {"preparations": [...]})
/// whose destination was given by name.
void name_prepared_hosts(nlohmann::json& answer, const std::vector<std::string>& names);

}  // namespace dockmig::agent
