// A fleet of simulated edge hosts on a real etcd (docs/fleet.md, "Scale"): every host
// joins through fleet::Membership (a lease, its keep-alive, its record rewritten when its
// containers change), every handoff goes through the ownership code the agents run
// (fleet::route_handoff, EtcdOwnership's claim, take-over swap and hand-back,
// migrate::decide_rollback); only the Docker and CRIU calls are left out, their effect
// kept in a table of running copies that reports a second owner the moment it appears.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace dockmig::fleetsim {

struct Options {
  std::string etcd;                       // etcd's client URL(s)
  size_t hosts = 1000;
  size_t services = 10000;
  double rate = 10;                       // handoffs started per second
  std::chrono::seconds duration{60};      // of the handoff phase
  std::chrono::seconds ttl{10};           // the hosts' lease TTL (serve --fleet-ttl)
  std::chrono::seconds idle{10};          // the background load measured before handoffs
  size_t workers = 16;                    // handoffs in flight at most
  double race_share = 0.1;                // handoffs sent to two destinations that race
  double stale_share = 0.02;              // handoffs asked of a host the record does not name
  double lost_reply_share = 0.05;         // the source does not hear the commit
  double restore_fail_share = 0.02;       // the destination's restore fails after its swap
  bool route = true;                      // route each handoff as `fleet handoff` does
  std::string tag = "sim";                // in every name, so runs do not mix
  uint64_t seed = 1;
  bool keep = false;                      // leave the service records in etcd
  // A broken destination that restores even when its swap lost: the checks must catch it.
  bool restore_after_lost_swap = false;
};

/// Runs the simulation; the report says what was measured and whether every check held
/// (`ok`). An error only when it could not run (etcd unreachable at the start).
Result<nlohmann::json> simulate(const Options& options);

}  // namespace dockmig::fleetsim
