#include "fleet/ownership_changes.h"

#include <spdlog/spdlog.h>

#include "fleet/service_record.h"

namespace dockmig::fleet {
namespace {

nlohmann::json host_or_null(const std::string& host) { return host.empty() ? nlohmann::json() : nlohmann::json(host); }

std::string service_of(const std::string& key) { return key.substr(std::min(key.size(), kServicesPrefix.size())); }

}  // namespace

nlohmann::json to_json(const OwnershipChange& change) {
  return {{"service", change.service}, {"from", host_or_null(change.from)}, {"to", host_or_null(change.to)},
          {"revision", change.revision}, {"current", change.current}};
}

std::string to_text(const OwnershipChange& change) {
  std::string revision = std::to_string(change.revision);
  if (change.current && change.from.empty()) return change.service + ": on " + change.to + " since revision " + revision;
  std::string to = change.to.empty() ? "nobody (record deleted)" : change.to;
  return change.service + ": " + (change.from.empty() ? "nobody" : change.from) + " -> " + to + " at revision " + revision +
         (change.current ? " (found on reading again)" : "");
}

OwnershipFollower::OwnershipFollower(std::vector<std::string> services) : services_(services.begin(), services.end()) {}

bool OwnershipFollower::follows(const std::string& service) const {
  return services_.empty() || services_.contains(service);
}

std::optional<std::string> OwnershipFollower::owner_in(const etcd::KeyValue& record) {
  Result<ServiceRecord> decoded = decode_service_record(record.value);
  if (decoded) return decoded->host;
  spdlog::warn("fleet: the ownership record {} (revision {}) is unreadable, so left out: {}", record.key,
               record.mod_revision, decoded.error().message);
  return std::nullopt;
}

void OwnershipFollower::note(std::vector<OwnershipChange>& changes, const std::string& service,
                             const std::string& owner, int64_t revision, bool current) {
  auto known = owners_.find(service);
  std::string before = known == owners_.end() ? std::string() : known->second;
  if (before == owner) return;
  if (owner.empty()) owners_.erase(service);
  else owners_[service] = owner;
  changes.push_back(OwnershipChange{service, before, owner, revision, current});
}

std::vector<OwnershipChange> OwnershipFollower::read(const std::vector<etcd::KeyValue>& records, int64_t revision) {
  std::vector<OwnershipChange> changes;
  std::set<std::string> present;
  for (const etcd::KeyValue& record : records) {
    std::string service = service_of(record.key);
    if (!follows(service)) continue;
    present.insert(service);
    if (std::optional<std::string> owner = owner_in(record)) note(changes, service, *owner, record.mod_revision, true);
  }
  std::vector<std::string> gone;
  for (const auto& [service, owner] : owners_)
    if (!present.contains(service)) gone.push_back(service);
  for (const std::string& service : gone) note(changes, service, {}, revision, true);
  return changes;
}

std::vector<OwnershipChange> OwnershipFollower::apply(const std::vector<etcd::WatchEvent>& events) {
  std::vector<OwnershipChange> changes;
  for (const etcd::WatchEvent& event : events) {
    std::string service = service_of(event.kv.key);
    if (!follows(service)) continue;
    std::optional<std::string> owner = event.deleted ? std::string() : owner_in(event.kv);
    if (owner) note(changes, service, *owner, event.kv.mod_revision, false);
  }
  return changes;
}

}  // namespace dockmig::fleet
