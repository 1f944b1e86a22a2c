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

// The record as stored; none when the service has none yet.
Result<std::optional<ServiceLocation>> read_record(const etcd::Client& etcd, std::string_view service) {
  Result<std::optional<etcd::KeyValue>> stored = etcd.get(service_key(service));
  if (!stored) return std::move(stored.error()).wrap("reading the ownership record of `" + std::string(service) + "`");
  if (!*stored) return std::optional<ServiceLocation>();
  Result<ServiceRecord> record = decode_service_record((*stored)->value);
  if (!record) return std::move(record.error()).wrap("`" + (*stored)->key + "`");
  return std::optional<ServiceLocation>(
      ServiceLocation{std::string(service), std::move(*record), (*stored)->mod_revision, std::nullopt, true});
}

// A service never handed off in the fleet has no record yet: the one host whose own
// record lists a running container of that name runs it (its first handoff's claim
// then creates the record).
Result<ServiceLocation> locate_unrecorded(std::string_view service, const std::vector<HostRecord>& hosts) {
  std::vector<const HostRecord*> running;
  for (const HostRecord& host : hosts)
    if (std::find(host.containers.begin(), host.containers.end(), service) != host.containers.end())
      running.push_back(&host);
  std::string name(service);
  if (running.empty())
    return make_error(ErrorCode::NotFound, "the fleet has no service `" + name + "`",
                      "no ownership record (" + service_key(service) +
                          ") and no live host runs a container of that name (`dockmig fleet ls`)");
  if (running.size() > 1)
    return make_error(ErrorCode::InvalidInput,
                      "`" + name + "` has no ownership record and runs on `" + running[0]->name + "` and `" +
                          running[1]->name + "`",
                      "hand it off once with `dockmig migrate --etcd` from the host that should own it");
  return ServiceLocation{name, {running[0]->name, "", ""}, 0, *running[0], false};
}

// The records of the named hosts that are registered. A service with a record needs only
// these: reading every host's record for each handoff would cost the gateway and etcd
// the whole fleet's records (about 600 bytes a host) per handoff (docs/fleet.md, "Scale").
Result<std::vector<HostRecord>> read_hosts(const etcd::Client& etcd, const std::vector<std::string_view>& names) {
  std::vector<HostRecord> hosts;
  for (std::string_view name : names) {
    if (check_host_name(name) && find_host(hosts, name) == nullptr) {
      Result<std::optional<HostRecord>> host = get_host(etcd, name);
      if (!host) return std::move(host.error());
      if (*host) hosts.push_back(std::move(**host));
    }
  }
  return hosts;
}

}  // namespace

Result<ServiceLocation> locate_service(const etcd::Client& etcd, std::string_view service) {
  Result<std::optional<ServiceLocation>> recorded = read_record(etcd, service);
  if (!recorded) return std::move(recorded.error());
  if (*recorded) {
    Result<std::vector<HostRecord>> owner = read_hosts(etcd, {(*recorded)->record.host});
    if (!owner) return std::move(owner.error());
    if (!owner->empty()) (*recorded)->host = owner->front();
    return std::move(**recorded);
  }
  Result<std::vector<HostRecord>> hosts = list_hosts(etcd);
  if (!hosts) return std::move(hosts.error());
  return locate_unrecorded(service, *hosts);
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
  Result<std::optional<ServiceLocation>> recorded = read_record(etcd, service);
  if (!recorded) return std::move(recorded.error());
  Result<std::vector<HostRecord>> hosts =
      *recorded ? read_hosts(etcd, {(*recorded)->record.host, to}) : list_hosts(etcd);
  if (!hosts) return std::move(hosts.error());
  if (*recorded) return route_between(**recorded, *hosts, to);
  Result<ServiceLocation> location = locate_unrecorded(service, *hosts);
  if (!location) return std::move(location.error());
  return route_between(*location, *hosts, to);
}

nlohmann::json to_json(const ServiceLocation& location) {
  nlohmann::json json = {{"service", location.service},     {"host", location.record.host},
                         {"migration", location.record.migration}, {"time", location.record.time},
                         {"revision", location.revision},   {"alive", location.host.has_value()},
                         {"recorded", location.recorded}};
  if (location.host) {
    json["agent_address"] = location.host->agent_address;
    json["api_address"] = location.host->api_address;
  }
  return json;
}

}  // namespace dockmig::fleet
