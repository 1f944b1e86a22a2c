#include "migrate/restart_policy.h"

#include <spdlog/spdlog.h>

namespace dockmig::migrate {

std::string policy_to_hold(const nlohmann::json& host_config) {
  auto policy = host_config.find("RestartPolicy");
  if (policy == host_config.end() || !policy->is_object()) return "";
  std::string name = policy->value("Name", "");
  return name.empty() || name == "no" ? "" : policy->dump();
}

Status hold_restart_policy(const docker::EngineClient& engine, const std::string& container_id,
                           const std::string& held) {
  if (held.empty()) return {};
  Status set = engine.set_restart_policy(container_id, {{"Name", "no"}, {"MaximumRetryCount", 0}});
  if (!set) return std::move(set.error()).wrap("holding the restart policy of the source at \"no\" for the handoff");
  return {};
}

void put_back_restart_policy(const docker::EngineClient& engine, const std::string& container_id,
                             const std::string& held) {
  if (held.empty()) return;
  nlohmann::json policy = nlohmann::json::parse(held, nullptr, false);
  Status set = policy.is_object()
                   ? engine.set_restart_policy(container_id, policy)
                   : make_error(ErrorCode::InvalidInput, "the journal's restart policy is not a JSON object");
  if (!set)
    spdlog::warn("the container runs, but putting back its restart policy {} failed: {} (`docker update --restart` "
                 "sets it again)",
                 held, set.error().describe());
}

}  // namespace dockmig::migrate
