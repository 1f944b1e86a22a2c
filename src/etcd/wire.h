// etcd's v3 JSON gateway: what goes into its requests and comes out of its answers, apart
// from the transport so it can be tested without an etcd.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace dockmig::etcd {

using LeaseId = int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;  // the revision of the last write to the key: what a swap compares
  int64_t version = 0;
  LeaseId lease = 0;         // 0: the key lives without a lease
};

struct Lease {
  LeaseId id = 0;
  std::chrono::seconds ttl{0};
};

/// One change seen by a watch: the key as written (for a delete only its key and
/// revision), and as it was before when the watch asked for that.
struct WatchEvent {
  bool deleted = false;
  KeyValue kv;
  std::optional<KeyValue> previous;
};

/// One message of a watch stream.
struct WatchMessage {
  int64_t revision = 0;          // the store's revision when etcd sent it (its header)
  bool created = false;          // the confirmation that the watch runs
  bool canceled = false;         // etcd ended the watch; `cancel_reason` says why
  int64_t compact_revision = 0;  // when cancelled because its start was compacted away: etcd's oldest revision
  std::string cancel_reason;
  std::vector<WatchEvent> events;
};

/// A range's key-values and the store's revision they were read at.
struct RangeAnswer {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;
};

/// What a compare-and-put did: `succeeded`, or not, and then the key as it is now (none
/// when it does not exist), so the caller sees who won.
struct SwapOutcome {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the transaction
  std::optional<KeyValue> current;
};

std::string base64_encode(std::string_view bytes);
/// Standard base64 with padding, as the gateway writes it.
Result<std::string> base64_decode(std::string_view text);
/// The end of the key range holding every key that starts with `prefix` (etcd's rule: the
/// prefix with its last byte below 0xff incremented; "\0" for the whole key space).
std::string prefix_range_end(std::string_view prefix);

nlohmann::json put_request(std::string_view key, std::string_view value, LeaseId lease);
/// A range read as the store is now (`revision` 0) or as it was at `revision`.
nlohmann::json range_request(std::string_view key, std::string_view range_end = {}, int64_t revision = 0);
/// A transaction: if the key's mod revision is `expected_mod_revision` (0: the key does not
/// exist), put the value; else read the key.
nlohmann::json swap_request(std::string_view key, int64_t expected_mod_revision, std::string_view value,
                            LeaseId lease);

/// Opens a watch of every key under `prefix` from `start_revision` (0: from now), with
/// each event's previous value.
nlohmann::json watch_request(std::string_view prefix, int64_t start_revision);

/// Why etcd refused a read at a past revision, by its error message: the history there
/// is compacted away, or the revision is one the store has not reached.
enum class RevisionRefusal { Other, Compacted, Future };
RevisionRefusal revision_refusal(std::string_view etcd_message);

/// The key-values of a range answer (none when nothing matched).
Result<std::vector<KeyValue>> parse_range(const nlohmann::json& answer);
/// The same with the revision they were read at (the answer's header).
Result<RangeAnswer> parse_range_at(const nlohmann::json& answer);
Result<Lease> parse_lease_grant(const nlohmann::json& answer);
/// The lease's remaining TTL from a keep-alive answer; NotFound when the lease is gone
/// (etcd then answers without a TTL).
Result<std::chrono::seconds> parse_keep_alive(const nlohmann::json& answer, LeaseId lease);
Result<SwapOutcome> parse_swap(const nlohmann::json& answer);
/// One message of a watch stream (no events in the one that confirms the watch, nor in
/// the one that says etcd cancelled it; etcd/watch_resume.h decides what a cancel means).
Result<WatchMessage> parse_watch_message(const nlohmann::json& message);

}  // namespace dockmig::etcd
