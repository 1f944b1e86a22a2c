#include "fleet/handoff_route.h"

#include <algorithm>

namespace dockmig::fleet {
namespace {

const HostRecord* find_host(const std::vector<HostRecord>& hosts, std::string_view name) {
  auto found = std::find_if(hosts.begin(), hosts.end(), [name](const HostRecord& host) { return host.name == name; });
  return found == hosts.end() ? nullptr : &*found;
}

Error no_such_host(std::string_view name) {
  return make_error(ErrorCode::NotFound,
                    "no host `" + std::string(name) + "` in the fleet: unknown, or its agent is not running",
                    "`dockmig fleet ls` lists the live hosts; an agent joins with `dockmig serve --etcd … --name`");
}

// The record alone, its host not yet looked up.
Result<ServiceLocation> read_location(const etcd::Client& etcd, std::string_view service) {
  Result<std::optional<etcd::KeyValue>> stored = etcd.get(service_key(service));
  if (!stored) return std::move(stored.error()).wrap("reading the ownership record of `" + std::string(service) + "`");
  if (!*stored)
    return make_error(ErrorCode::NotFound, "the fleet has no service `" + std::string(service) + "`",
                      "a service gets its ownership record at its first handoff with --etcd (" +
                          service_key(service) + ")");
  Result<ServiceRecord> record = decode_service_record((*stored)->value);
  if (!record) return std::move(record.error()).wrap("`" + (*stored)->key + "`");
  return ServiceLocation{std::string(service), std::move(*record), (*stored)->mod_revision, std::nullopt};
}

}  // namespace

Result<ServiceLocation> locate_service(const etcd::Client& etcd, std::string_view service) {
  Result<ServiceLocation> location = read_location(etcd, service);
  if (!location) return location;
  Result<std::vector<HostRecord>> hosts = list_hosts(etcd);
  if (!hosts) return std::move(hosts.error());
  if (const HostRecord* host = find_host(*hosts, location->record.host)) location->host = *host;
  return location;
}

Result<HandoffRoute> route_between(const ServiceLocation& location, const std::vector<HostRecord>& hosts,
                                   std::string_view to) {
  const std::string& owner = location.record.host;
  if (owner == to)
    return make_error(ErrorCode::InvalidInput, "`" + location.service + "` already runs on `" + owner + "`",
                      "name another host with --to (`dockmig fleet ls`)");
  const HostRecord* source = find_host(hosts, owner);
  if (source == nullptr)
    return std::move(no_such_host(owner))
        .wrap("`" + location.service + "` runs on `" + owner + "` by its ownership record");
  const HostRecord* destination = find_host(hosts, to);
  if (destination == nullptr) return no_such_host(to);
  return HandoffRoute{location.service, *source, *destination};
}

Result<HandoffRoute> route_handoff(const etcd::Client& etcd, std::string_view service, std::string_view to) {
  Result<ServiceLocation> location = read_location(etcd, service);
  if (!location) return std::move(location.error());
  Result<std::vector<HostRecord>> hosts = list_hosts(etcd);
  if (!hosts) return std::move(hosts.error());
  return route_between(*location, *hosts, to);
}

nlohmann::json to_json(const ServiceLocation& location) {
  nlohmann::json json = {{"service", location.service},     {"host", location.record.host},
                         {"migration", location.record.migration}, {"time", location.record.time},
                         {"revision", location.revision},   {"alive", location.host.has_value()}};
  if (location.host) {
    json["agent_address"] = location.host->agent_address;
    json["api_address"] = location.host->api_address;
  }
  return json;
}

}  // namespace dockmig::fleet
