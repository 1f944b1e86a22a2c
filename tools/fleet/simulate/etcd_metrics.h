// etcd's own counters (GET /metrics on its client URL), read before and after a phase so
// the requests a handoff makes are counted by etcd, not estimated.
#pragma once

#include <map>
#include <string>

#include "dockmig/result.h"

namespace dockmig::fleetsim {

/// "requests.Range", "requests.Txn", … (gRPC calls started, by method; the JSON gateway's
/// calls are among them) and etcd's store gauges by their own names.
using Metrics = std::map<std::string, double>;

Result<Metrics> read_metrics(const std::string& endpoint);
/// Parses the Prometheus text etcd serves, keeping what read_metrics promises.
Metrics parse_metrics(const std::string& text);
/// after - before, by name.
Metrics difference(const Metrics& after, const Metrics& before);

}  // namespace dockmig::fleetsim
