// The gateway's view of one service (docs/fleet.md, "The gateway's view"): where it runs,
// by its ownership record, and the route of a handoff of it to a named host: the source
// from the record (no agent is asked), both ends' addresses from their host records.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "etcd/client.h"
#include "fleet/host_record.h"
#include "fleet/service_record.h"

namespace dockmig::fleet {

/// A service as the fleet knows it: its ownership record and, while its host is alive,
/// that host's record.
struct ServiceLocation {
  std::string service;
  ServiceRecord record;
  int64_t revision = 0;             // the record's etcd mod revision
  std::optional<HostRecord> host;   // none: the named host is not in the fleet (dead)
  bool recorded = true;             // false: no record yet, found by the hosts' records
};

struct HandoffRoute {
  std::string service;
  HostRecord source;
  HostRecord destination;
};

/// The service's record. A service without one yet (never handed off in the fleet) is
/// found by the hosts' records when exactly one lists a running container of its name;
/// NotFound when none does.
Result<ServiceLocation> locate_service(const etcd::Client& etcd, std::string_view service);

/// The rule, without etcd: NotFound for a dead source or an unknown (or dead) destination,
/// InvalidInput when `to` already runs the service.
Result<HandoffRoute> route_between(const ServiceLocation& location, const std::vector<HostRecord>& hosts,
                                   std::string_view to);
/// Reads the hosts and the service's location (as locate_service), then route_between.
Result<HandoffRoute> route_handoff(const etcd::Client& etcd, std::string_view service, std::string_view to);

nlohmann::json to_json(const ServiceLocation& location);

}  // namespace dockmig::fleet
