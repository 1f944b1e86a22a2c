// The fleet's ownership records: one key per migratable service, /dockmig/services/NAME,
// naming the one host that may run it (docs/fleet.md, "Ownership"). No lease: the record
// outlives every agent. Its etcd mod revision is its version; a handoff commits by a
// compare-and-swap on it. Only the encoding and the rules live here, without etcd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::fleet {

inline constexpr std::string_view kServicesPrefix = "/dockmig/services/";

struct ServiceRecord {
  std::string host;       // the host that runs the service, by its name in the fleet
  std::string migration;  // the handoff that last wrote it
  std::string time;       // when, ISO 8601 UTC

  bool operator==(const ServiceRecord&) const = default;
};

/// The etcd key of `service` (a container name).
std::string service_key(std::string_view service);
std::string encode(const ServiceRecord& record);
/// Fails naming what is missing; fields it does not know are ignored.
Result<ServiceRecord> decode_service_record(std::string_view text);

/// At the source before the freeze, from the record as read (none: no record yet).
enum class ClaimDecision { Create, Keep, Refuse };
ClaimDecision decide_claim(const std::optional<ServiceRecord>& record, std::string_view source);

/// A swap's own write: the record names the host it made the owner and the handoff that
/// made it (its time may differ from a copy of the same swap sent again).
bool is_write_of(const ServiceRecord& record, std::string_view host, std::string_view migration);

/// What the record read after a swap from mod revision `compared` (0: from no record) says
/// of that swap: `record` as read (none: no record; `mod_revision` then 0).
enum class SwapReadBack {
  Ours,       // our write, after the compared revision: the swap was applied
  Unchanged,  // still at the compared revision: not applied, but a late copy still could be
  Changed,    // another write came after the compared revision: the swap lost
};
SwapReadBack read_back_swap(const std::optional<ServiceRecord>& record, int64_t mod_revision, int64_t compared,
                            std::string_view host, std::string_view migration);

/// The source's fence before it resumes (migrate::Ownership::keep), from the record as read
/// at `mod_revision` (none: no record), `fenced_past` the revision read before the last
/// write-back sent (0 before the first; it may or may not have been applied).
enum class KeepStep {
  Fence,      // it names this host: write it back as it was, from `mod_revision`
  Kept,       // it names this host, written after `fenced_past`: no earlier swap can apply
  Elsewhere,  // it names another host, or there is none: the source may not resume
};
KeepStep decide_keep(const std::optional<ServiceRecord>& record, int64_t mod_revision, int64_t fenced_past,
                     std::string_view host);

}  // namespace dockmig::fleet
