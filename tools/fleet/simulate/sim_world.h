// The simulated fleet's side of the checks (docs/fleet.md, "Scale"): where each service's
// copy runs (what the agents' Docker calls would start and stop, left out), every swap of
// a service record that succeeded, and the records' history as a watch sees it. Each
// check reports a second owner the moment it appears, not only at the end.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "etcd/wire.h"

namespace dockmig::fleetsim {

/// What went wrong, counted, with the first few described.
class Findings {
 public:
  void add(std::string what);
  size_t count() const;
  std::vector<std::string> first() const;

 private:
  mutable std::mutex mutex_;
  size_t count_ = 0;
  std::vector<std::string> first_;
};

/// The running copies: at most one per service, ever. A host's containers are listed from
/// here, as the agent lists dockerd's.
class Copies {
 public:
  Copies(size_t hosts, size_t services, Findings& double_owners);
  /// The copy of `service` starts at `host`; one running elsewhere is a second owner.
  void start(size_t service, size_t host);
  void stop(size_t service, size_t host);
  /// The host that runs it, or -1.
  int running_at(size_t service) const;
  std::vector<size_t> containers_of(size_t host) const;
  /// One handoff of a service at a time, as a source agent allows; false when it is busy.
  bool reserve(size_t service);
  void release(size_t service);

 private:
  std::mutex& lock_for(size_t service) const { return service_locks_[service % service_locks_.size()]; }

  Findings& double_owners_;
  std::vector<int> running_at_;
  std::vector<bool> busy_;
  mutable std::vector<std::mutex> service_locks_;
  std::vector<std::vector<size_t>> containers_;  // by host, unordered
  mutable std::vector<std::mutex> host_locks_;
};

/// Every swap that succeeded: two from one revision of one record would be two commits.
class SwapLedger {
 public:
  explicit SwapLedger(Findings& double_owners) : double_owners_(double_owners) {}
  void record(const std::string& key, int64_t from_revision, int64_t to_revision, const std::string& host);
  /// (key, revision) -> host, for every swap recorded.
  std::map<std::pair<std::string, int64_t>, std::string> written() const;
  size_t size() const;

 private:
  Findings& double_owners_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int64_t>, std::pair<int64_t, std::string>> by_origin_;
};

/// The records' history from a watch: each change of a record must follow the last one
/// seen (its previous revision is the one before), so the history is one line, never a fork.
class HistoryCheck {
 public:
  explicit HistoryCheck(Findings& forks) : forks_(forks) {}
  void take(const std::vector<etcd::WatchEvent>& events);
  size_t events() const;
  int64_t last_revision() const;
  /// (key, revision) -> host named, for every event seen.
  std::map<std::pair<std::string, int64_t>, std::string> seen() const;

 private:
  Findings& forks_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int64_t> last_of_key_;
  std::map<std::pair<std::string, int64_t>, std::string> seen_;
  size_t events_ = 0;
  int64_t last_revision_ = 0;
};

}  // namespace dockmig::fleetsim
