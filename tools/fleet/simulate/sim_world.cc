#include "sim_world.h"

#include <algorithm>

#include "fleet/service_record.h"

namespace dockmig::fleetsim {

void Findings::add(std::string what) {
  std::lock_guard lock(mutex_);
  ++count_;
  if (first_.size() < 20) first_.push_back(std::move(what));
}

size_t Findings::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::vector<std::string> Findings::first() const {
  std::lock_guard lock(mutex_);
  return first_;
}

Copies::Copies(size_t hosts, size_t services, Findings& double_owners)
    : double_owners_(double_owners), running_at_(services, -1), busy_(services, false), service_locks_(256),
      containers_(hosts), host_locks_(hosts) {}

void Copies::start(size_t service, size_t host) {
  {
    std::lock_guard lock(lock_for(service));
    int other = running_at_[service];
    if (other >= 0 && static_cast<size_t>(other) != host)
      double_owners_.add("service " + std::to_string(service) + " started at host " + std::to_string(host) +
                         " while it runs at host " + std::to_string(other));
    running_at_[service] = static_cast<int>(host);
  }
  std::lock_guard lock(host_locks_[host]);
  containers_[host].push_back(service);
}

void Copies::stop(size_t service, size_t host) {
  {
    std::lock_guard lock(lock_for(service));
    if (running_at_[service] == static_cast<int>(host)) running_at_[service] = -1;
  }
  std::lock_guard lock(host_locks_[host]);
  std::vector<size_t>& list = containers_[host];
  list.erase(std::remove(list.begin(), list.end(), service), list.end());
}

int Copies::running_at(size_t service) const {
  std::lock_guard lock(lock_for(service));
  return running_at_[service];
}

std::vector<size_t> Copies::containers_of(size_t host) const {
  std::lock_guard lock(host_locks_[host]);
  return containers_[host];
}

bool Copies::reserve(size_t service) {
  std::lock_guard lock(lock_for(service));
  if (busy_[service]) return false;
  busy_[service] = true;
  return true;
}

void Copies::release(size_t service) {
  std::lock_guard lock(lock_for(service));
  busy_[service] = false;
}

void SwapLedger::record(const std::string& key, int64_t from_revision, int64_t to_revision, const std::string& host) {
  std::lock_guard lock(mutex_);
  auto [at, inserted] = by_origin_.try_emplace({key, from_revision}, to_revision, host);
  if (!inserted)
    double_owners_.add(key + ": two swaps succeeded from revision " + std::to_string(from_revision) + ": to " +
                       at->second.second + " and to " + host);
}

std::map<std::pair<std::string, int64_t>, std::string> SwapLedger::written() const {
  std::lock_guard lock(mutex_);
  std::map<std::pair<std::string, int64_t>, std::string> written;
  for (const auto& [origin, result] : by_origin_) written[{origin.first, result.first}] = result.second;
  return written;
}

size_t SwapLedger::size() const {
  std::lock_guard lock(mutex_);
  return by_origin_.size();
}

void HistoryCheck::take(const std::vector<etcd::WatchEvent>& events) {
  std::lock_guard lock(mutex_);
  for (const etcd::WatchEvent& event : events) {
    ++events_;
    last_revision_ = std::max(last_revision_, event.kv.mod_revision);
    auto last = last_of_key_.find(event.kv.key);
    int64_t before = event.previous ? event.previous->mod_revision : 0;
    int64_t expected = last == last_of_key_.end() ? 0 : last->second;
    if (before != expected)
      forks_.add(event.kv.key + ": revision " + std::to_string(event.kv.mod_revision) + " follows " +
                 std::to_string(before) + ", but the last one seen was " + std::to_string(expected));
    last_of_key_[event.kv.key] = event.deleted ? 0 : event.kv.mod_revision;
    Result<fleet::ServiceRecord> record = fleet::decode_service_record(event.kv.value);
    seen_[{event.kv.key, event.kv.mod_revision}] = record ? record->host : std::string();
  }
}

size_t HistoryCheck::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

int64_t HistoryCheck::last_revision() const {
  std::lock_guard lock(mutex_);
  return last_revision_;
}

std::map<std::pair<std::string, int64_t>, std::string> HistoryCheck::seen() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

}  // namespace dockmig::fleetsim
