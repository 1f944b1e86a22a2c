#pragma once

#include <string>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "etcd/client.h"
#include "migrate/create_policy.h"

namespace dockmig::agent {

struct AgentOptions {
  std::string listen;          // ADDR:PORT for links from other agents (migrations to here)
  std::string docker;          // the local dockerd's socket
  std::string state_dir = "/var/lib/dockmig";
  int max_sessions = 4;        // incoming migrations at once; further connections wait
  TransportSecurity security;  // TLS for agent links (both ways) and the HTTPS API, or insecure
  std::string api;             // ADDR:PORT of the HTTP API for gateways; "" = no API
  std::string tokens;          // bearer tokens of API callers (reloaded on SIGHUP)
  int max_handoffs = 2;        // handoffs from here at once; further ones are queued
  int max_queued = 32;         // handoffs waiting at most; more are refused (503)
  std::string criu = "criu";   // the CRIU dockerd runs, for the page server of handoffs' dumps
  std::string memory_dir = "/dev/shm";  // a tmpfs for incoming pages when it has room; "off": the state dir
  migrate::CreatePolicy policy;  // what migrations to here may create (--allow, --allow-bind)
  std::string etcd;            // the fleet's etcd client URLs, comma-separated; "" = no fleet
  etcd::ClientSecurity etcd_security;  // TLS towards https:// etcd URLs, and etcd user/password auth
  std::string name;            // this host's name in the fleet; "" = the hostname
  int fleet_ttl = 10;          // seconds a dead agent stays in the fleet at most (its lease)
  int prepare_ttl = 1800;      // seconds an unused preparation is kept, here and at its destination
  std::string store_budget = "1G";  // disk for the pages of containers that left, for their return; "0": none
};

/// Runs the agent until SIGINT or SIGTERM: receives migrations from other agents, each on
/// its own thread, and, with `api`, serves the HTTP API that starts handoffs from here.
/// SIGHUP reloads the token file. With `etcd` it registers in the fleet (docs/fleet.md) and
/// leaves it when it stops.
Status serve(const AgentOptions& options);

}  // namespace dockmig::agent
