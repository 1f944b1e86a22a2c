// The rule that settles a source's journal entry (recovery.h), apart from the dockerd and
// peers that recovery asks, so that it can be read, and tested, as a table. Never two
// copies, never none: a stopped source resumes only while the destination cannot have
// started its copy, or once the destination (or the fleet's record) says it did not; with
// a fleet, once the checkpoint crossed, only after it fenced the record (Ownership::keep).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "migrate/ownership.h"

namespace dockmig::migrate {

enum class SourceState { Running, Stopped, Gone };

enum class Settlement {
  Abandon,         // a person said to forget it: the container is left as it is
  Gone,            // the source container no longer exists
  Resume,          // restore the source from its checkpoint
  KeepRunning,     // the source runs: it only gets its restart policy back
  HandOver,        // the destination runs the copy: the source ends as after a handoff
  TwoCopies,       // the destination committed, yet the source runs: a person decides
  AskDestination,  // only the destination's ledger can tell; ask, then decide again
  FenceRecord,     // with a fleet: fence the record (Ownership::keep), then decide again
  InDoubt,         // nobody who can be asked knows: the source stays stopped
};

struct SettlementFacts {
  std::string_view phase;  // the journal entry's (journal.h)
  SourceState source = SourceState::Stopped;
  bool person_abandons = false;  // `dockmig recover --abandon` names it
  bool person_resumes = false;   // `dockmig recover --resume` names it
  bool destination_asked = false;
  /// What the destination's ledger said ("committed", "rolled_back", ...); nothing when it
  /// could not be asked.
  std::optional<std::string> destination_says;
  /// Recover runs with the fleet's records (--etcd): a source whose checkpoint crossed
  /// resumes only once it fenced its record, whoever said it may (the destination, a person).
  bool fleet = false;
  /// With a fleet, once fenced: what the record allows.
  std::optional<RollbackDecision> record;
};

Settlement decide_settlement(const SettlementFacts& facts);

}  // namespace dockmig::migrate
