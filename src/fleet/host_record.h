// The fleet's host records in etcd: one key per agent, /dockmig/hosts/NAME, written under
// the agent's lease, so a host that dies leaves the fleet when its lease ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "etcd/client.h"

namespace dockmig::fleet {

/// Where host records live in etcd.
inline constexpr std::string_view kHostsPrefix = "/dockmig/hosts/";

struct HostRecord {
  std::string name;            // the host's name in the fleet, unique
  std::string agent_address;   // ADDR:PORT where its agent takes migrations (serve --listen)
  std::string api_address;     // ADDR:PORT of its gateway API; empty without --api
  std::string docker_version;
  std::string criu_version;
  uint64_t staging_free_bytes = 0;  // free space where incoming migrations are staged
  std::vector<std::string> images;      // the images it holds, by digest (repo@sha256:…)
  std::vector<std::string> containers;  // the names of its running containers
  int64_t lease_ttl_seconds = 0;

  bool operator==(const HostRecord&) const = default;
};

/// Whether a host that wrote `written` should write `now`: anything changed but its free
/// disk, or that by more than 1 GiB and 5 %. To the byte, free disk changes whenever
/// anything on the filesystem writes, and every host would rewrite its record at every
/// renewal: one etcd write per host per third of the TTL (docs/fleet.md, "Scale").
bool worth_rewriting(const HostRecord& written, const HostRecord& now);

nlohmann::json to_json(const HostRecord& record);
Result<HostRecord> host_record_from_json(const nlohmann::json& json);

/// The etcd key of host `name`.
std::string host_key(std::string_view name);
/// This machine's hostname: a host's name in the fleet unless it is given one.
std::string local_host_name();
/// Checks that `name` can be a key's last part: letters, digits, '.', '-', '_'.
Status check_host_name(std::string_view name);

/// Every registered host, by name. An unreadable record is skipped with a warning.
Result<std::vector<HostRecord>> list_hosts(const etcd::Client& etcd);
/// One host's record; none when it is not registered (or its record is unreadable, with a
/// warning, as list_hosts skips it).
Result<std::optional<HostRecord>> get_host(const etcd::Client& etcd, std::string_view name);

/// A table of the hosts, one line each, for people.
std::string to_text(const std::vector<HostRecord>& hosts);

}  // namespace dockmig::fleet
