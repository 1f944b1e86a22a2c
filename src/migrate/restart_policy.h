// A container with a restart policy would be started afresh by dockerd once its
// checkpoint stops it (and at every dockerd start while it stays stopped): a second copy
// beside the destination's. So from the freeze on the source's policy is "no"; the
// journal keeps the container's own, which is put back when it runs here again, and which
// the destination's copy was created with.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "docker/engine_client.h"
#include "dockmig/result.h"

namespace dockmig::migrate {

/// The policy to keep in the journal while the source is held: its JSON text, or "" when
/// dockerd would not start the container by itself anyway.
std::string policy_to_hold(const nlohmann::json& host_config);

/// Sets the source's policy to "no" (nothing when `held` is empty).
Status hold_restart_policy(const docker::EngineClient& engine, const std::string& container_id,
                           const std::string& held);

/// Puts the held policy back on a source that runs again (nothing when `held` is empty).
/// A failure is logged, not returned: the container runs, and `docker update --restart`
/// mends it.
void put_back_restart_policy(const docker::EngineClient& engine, const std::string& container_id,
                             const std::string& held);

}  // namespace dockmig::migrate
