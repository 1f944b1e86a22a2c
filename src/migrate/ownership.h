// Who runs a service, as the fleet records it (docs/fleet.md, "Ownership"): the commit
// point of a handoff. migrate/ sees only this interface; fleet/ implements it on etcd and
// the agent or the CLI hands it in when it runs with --etcd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::migrate {

class Ownership {
 public:
  virtual ~Ownership() = default;

  /// This host's name in the fleet.
  virtual const std::string& host() const = 0;
  /// At the source, before anything freezes: the revision of the service's record, which
  /// is created naming this host when there is none. Conflict when it names another host;
  /// an error when it cannot be read.
  virtual Result<int64_t> claim(const std::string& service, const std::string& migration) const = 0;
  /// At the destination, the commit: the record goes from `source` (at `revision`) to this
  /// host, in one compare-and-swap. Its new revision; Conflict when it changed meanwhile,
  /// or when the swap was not applied and can no longer be; kSwapOutcomeUnknown when etcd
  /// could not tell whether it was applied (the record may name this host).
  virtual Result<int64_t> take_over(const std::string& service, const std::string& source, int64_t revision,
                                    const std::string& migration) const = 0;
  /// At the destination after its copy failed to start: the record goes back to `source`
  /// from `revision` (the take-over's), so that the source may resume.
  virtual Status hand_back(const std::string& service, const std::string& source, int64_t revision,
                           const std::string& migration) const = 0;
  /// At the source after a failed handoff, before it resumes (the fence): the record names
  /// this host, and no swap begun earlier can apply any more. The record is written back
  /// as it was by a compare-and-swap from its revision, which moves the revision past the
  /// one any late take-over compares. Its new revision; Conflict naming the host the record
  /// names (or that there is none); an error when it could not be read and fenced within
  /// the ownership's patience.
  virtual Result<int64_t> keep(const std::string& service) const = 0;
  /// The host the record names now ("" when there is none), retried for a bounded time
  /// while etcd cannot be reached; an error after that.
  virtual Result<std::string> owner(const std::string& service) const = 0;
};

/// A swap's error when its outcome could not be learned (no answer, and etcd unreadable
/// for the ownership's patience after it): the record may name the new host, so neither
/// side may act as if it did not; the record decides later (decide_reconcile).
inline constexpr ErrorCode kSwapOutcomeUnknown = ErrorCode::Timeout;

/// The source's rollback after the checkpoint crossed, from its fence (Ownership::keep): it
/// resumes only once the record names it and no late swap can apply. A record naming
/// another host, none at all (someone removed it), or one that could not be read or fenced
/// leaves the container checkpointed.
enum class RollbackDecision { Resume, StayCheckpointed };
RollbackDecision decide_rollback(const Result<int64_t>& kept);

/// At a destination agent's start, for a migration its ledger left undecided: the host the
/// record names keeps (or starts) its copy; another removes it, as without a fleet. A
/// record that could not be read (nullopt) decides nothing: the copy is kept, in doubt.
enum class ReconcileDecision { KeepOrStart, Remove, Undecided };
ReconcileDecision decide_reconcile(const std::optional<std::string>& owner, std::string_view self);

}  // namespace dockmig::migrate
