#include "agent/prepare_hosts.h"

#include <algorithm>
#include <optional>

namespace dockmig::agent {

namespace {

const fleet::HostRecord* find_host(const std::vector<fleet::HostRecord>& hosts, const std::string& name) {
  auto found = std::find_if(hosts.begin(), hosts.end(), [&name](const fleet::HostRecord& host) { return host.name == name; });
  return found == hosts.end() ? nullptr : &*found;
}

Status check_distinct(const std::vector<std::string>& destinations, const std::vector<std::string>& names) {
  for (size_t i = 0; i < destinations.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (destinations[i] == destinations[j])
        return make_error(ErrorCode::InvalidInput,
                          "`destinations` names the agent " + destinations[i] + " twice" +
                              (names[i].empty() && names[j].empty() ? "" : " (by its fleet name and its address)"),
                          "list each likely next host once");
  return {};
}

}  // namespace

Result<std::vector<std::string>> resolve_prepare_hosts(PrepareSpec& spec, const FleetBackend* fleet) {
  std::vector<std::string> names(spec.destinations.size());
  std::optional<std::vector<fleet::HostRecord>> hosts;
  for (size_t i = 0; i < spec.destinations.size(); ++i) {
    std::string& destination = spec.destinations[i];
    if (!names_fleet_host(destination)) continue;
    if (fleet == nullptr)
      return make_error(ErrorCode::NotFound,
                        "`" + destination + "` is a host name, and this agent is not in a fleet to look it up",
                        "give the destination's agent as ADDR:PORT, or start this agent with --etcd URL --name NAME");
    if (!hosts) {
      Result<std::vector<fleet::HostRecord>> listed = fleet->hosts();
      if (!listed) return std::move(listed.error()).wrap("looking up the destinations in the fleet");
      hosts = std::move(*listed);
    }
    const fleet::HostRecord* host = find_host(*hosts, destination);
    if (host == nullptr)
      return make_error(ErrorCode::NotFound,
                        "no host `" + destination + "` in the fleet: unknown, or its agent is not running",
                        "`dockmig fleet ls` lists the live hosts");
    names[i] = destination;
    destination = host->agent_address;
  }
  if (Status distinct = check_distinct(spec.destinations, names); !distinct) return std::move(distinct.error());
  return names;
}

void name_prepared_hosts(nlohmann::json& answer, const std::vector<std::string>& names) {
  nlohmann::json* preparations = answer.contains("preparations") ? &answer["preparations"] : nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    if (preparations == nullptr) {
      answer["host"] = names[i];
    } else if (i < preparations->size()) {
      (*preparations)[i]["host"] = names[i];
    }
  }
}

}  // namespace dockmig::agent
