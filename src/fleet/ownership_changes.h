// Who runs each service, followed as it changes: the ownership records read once, then
// their changes as a watch of /dockmig/services/ delivers them (`fleet watch`,
// docs/fleet.md, "The gateway's view"). Only the rule lives here; etcd's client reads and watches.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "etcd/wire.h"

namespace dockmig::fleet {

struct OwnershipChange {
  std::string service;
  std::string from;       // empty: no record before (a first claim)
  std::string to;         // empty: the record was deleted
  int64_t revision = 0;   // the write that made it (a read's revision for a record gone by then)
  bool current = false;   // read as the state is, not seen as it happened
};

/// `{"service", "from", "to", "revision", "current"}`, null for an empty host.
nlohmann::json to_json(const OwnershipChange& change);
/// "svc: edge-a -> edge-b at revision 42"; "svc: on edge-a since revision 12" for the state as read.
std::string to_text(const OwnershipChange& change);

class OwnershipFollower {
 public:
  /// Follows `services` (none: every service).
  explicit OwnershipFollower(std::vector<std::string> services);

  /// The records as read at some revision: at first, each service's owner; after that
  /// (read again when the watch's history was compacted away), what differs from what
  /// was followed.
  std::vector<OwnershipChange> read(const std::vector<etcd::KeyValue>& records, int64_t revision);
  /// The changes of owner among `events` (a record rewritten naming the same host is none).
  std::vector<OwnershipChange> apply(const std::vector<etcd::WatchEvent>& events);

 private:
  bool follows(const std::string& service) const;
  /// The owner a record's value names; none (logged) when it cannot be read, which
  /// changes nothing followed.
  static std::optional<std::string> owner_in(const etcd::KeyValue& record);
  void note(std::vector<OwnershipChange>& changes, const std::string& service, const std::string& owner,
            int64_t revision, bool current);

  std::set<std::string> services_;
  std::map<std::string, std::string> owners_;
};

}  // namespace dockmig::fleet
