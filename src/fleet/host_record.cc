// Host records as JSON in etcd. Readers take what they know and ignore the rest, so that
// agents of different versions can share a fleet.
#include "fleet/host_record.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace dockmig::fleet {

using nlohmann::json;

std::string local_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

json to_json(const HostRecord& record) {
  return json{{"name", record.name},
              {"agent_address", record.agent_address},
              {"api_address", record.api_address},
              {"docker_version", record.docker_version},
              {"criu_version", record.criu_version},
              {"staging_free_bytes", record.staging_free_bytes},
              {"images", record.images},
              {"containers", record.containers},
              {"lease_ttl_seconds", record.lease_ttl_seconds}};
}

Result<HostRecord> host_record_from_json(const json& object) {
  if (!object.is_object() || !object.contains("name") || !object["name"].is_string())
    return make_error(ErrorCode::InvalidInput, "a host record without a name: " + object.dump().substr(0, 200));
  try {
    HostRecord record;
    record.name = object["name"].get<std::string>();
    record.agent_address = object.value("agent_address", "");
    record.api_address = object.value("api_address", "");
    record.docker_version = object.value("docker_version", "");
    record.criu_version = object.value("criu_version", "");
    record.staging_free_bytes = object.value("staging_free_bytes", uint64_t{0});
    record.images = object.value("images", std::vector<std::string>{});
    record.containers = object.value("containers", std::vector<std::string>{});
    record.lease_ttl_seconds = object.value("lease_ttl_seconds", int64_t{0});
    return record;
  } catch (const json::exception& e) {
    return make_error(ErrorCode::InvalidInput, "host record of `" + object["name"].get<std::string>() +
                                                   "` has a field of the wrong type: " + e.what());
  }
}

std::string host_key(std::string_view name) { return std::string(kHostsPrefix) + std::string(name); }

Status check_host_name(std::string_view name) {
  bool fits = !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
  if (fits) return {};
  return make_error(ErrorCode::InvalidInput, "host name `" + std::string(name) + "` cannot name a fleet member",
                    "use letters, digits, '.', '-' and '_' (e.g. --name edge-a)");
}

Result<std::vector<HostRecord>> list_hosts(const etcd::Client& etcd) {
  Result<std::vector<etcd::KeyValue>> entries = etcd.get_prefix(kHostsPrefix);
  if (!entries) return std::move(entries.error()).wrap("listing the fleet's hosts");
  std::vector<HostRecord> hosts;
  for (const etcd::KeyValue& entry : *entries) {
    Result<HostRecord> record = host_record_from_json(json::parse(entry.value, nullptr, false));
    if (!record) {
      spdlog::warn("skipped the record at {}: {}", entry.key, record.error().message);
      continue;
    }
    hosts.push_back(std::move(*record));
  }
  return hosts;
}

bool worth_rewriting(const HostRecord& written, const HostRecord& now) {
  HostRecord same_disk = now;
  same_disk.staging_free_bytes = written.staging_free_bytes;
  if (!(same_disk == written)) return true;
  uint64_t change = now.staging_free_bytes > written.staging_free_bytes ? now.staging_free_bytes - written.staging_free_bytes
                                                                        : written.staging_free_bytes - now.staging_free_bytes;
  return change > (1ull << 30) && change > written.staging_free_bytes / 20;
}

Result<std::optional<HostRecord>> get_host(const etcd::Client& etcd, std::string_view name) {
  Result<std::optional<etcd::KeyValue>> entry = etcd.get(host_key(name));
  if (!entry) return std::move(entry.error()).wrap("reading the record of host `" + std::string(name) + "`");
  if (!*entry) return std::optional<HostRecord>();
  Result<HostRecord> record = host_record_from_json(json::parse((*entry)->value, nullptr, false));
  if (!record) {
    spdlog::warn("skipped the record at {}: {}", (*entry)->key, record.error().message);
    return std::optional<HostRecord>();
  }
  return std::optional<HostRecord>(std::move(*record));
}

namespace {

std::string gibibytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return text;
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : ",") + word;
  return text.empty() ? "-" : text;
}

}  // namespace

std::string to_text(const std::vector<HostRecord>& hosts) {
  std::vector<std::vector<std::string>> rows{{"HOST", "AGENT", "API", "DOCKER", "CRIU", "STAGING FREE", "IMAGES", "CONTAINERS"}};
  for (const HostRecord& host : hosts)
    rows.push_back({host.name, host.agent_address, host.api_address.empty() ? "-" : host.api_address,
                    host.docker_version, host.criu_version.empty() ? "-" : host.criu_version,
                    gibibytes(host.staging_free_bytes), std::to_string(host.images.size()), joined(host.containers)});
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string text;
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) text += row[i] + std::string(widths[i] - row[i].size() + 2, ' ');
    text += row.back() + "\n";
  }
  return text;
}

}  // namespace dockmig::fleet
