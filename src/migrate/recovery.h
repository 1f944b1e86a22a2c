// Settling the migrations a source left in doubt: a `dockmig migrate` or an agent's
// handoff killed after the freeze leaves its journal entry behind (migrate/source_record.h).
// `dockmig recover`, and every agent when it starts, read those entries and end each one
// the way the migration would have: resumed here from its own checkpoint while the
// destination cannot have started its copy, or as the destination's durable ledger says
// it ended. When the destination cannot be asked, nothing is guessed: the container stays
// stopped, and the report says what to check and which command settles it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "migrate/journal.h"
#include "migrate/ownership.h"

namespace dockmig::migrate {

struct RecoveryRequest {
  std::filesystem::path state_dir = "/var/lib/dockmig";
  TransportSecurity security;  // for asking the destinations
  /// A container (name or id) or migration id a person has settled: resume it here from
  /// its checkpoint, or (abandon) forget it and leave the container as it is.
  std::string resume;
  std::string abandon;
  /// The fleet's ownership records (--etcd): a source whose checkpoint crossed resumes
  /// (whether the destination said it may, could not be asked, or a person said so) only
  /// once it fenced the record naming it (Ownership::keep). Null: no fleet.
  std::shared_ptr<const Ownership> ownership;
};

struct RecoveredMigration {
  JournalEntry entry;
  /// resumed | handed_over | already_running | container_gone | abandoned | in_doubt | busy
  std::string outcome;
  std::string detail;   // what was done, or what is not known
  std::string next;     // when in doubt: what to check, and the command that settles it
  bool in_doubt = false;
};

struct RecoveryReport {
  std::vector<RecoveredMigration> migrations;
  std::vector<Error> unreadable;  // journal files that could not be read: each in doubt
  bool in_doubt() const;
};

/// Settles every source entry in the journal under `request.state_dir` that no running
/// process holds. An error only when `resume`/`abandon` names no entry (NotFound).
Result<RecoveryReport> recover_sources(const RecoveryRequest& request);

nlohmann::json to_json(const RecoveryReport& report);
std::string to_text(const RecoveryReport& report);

}  // namespace dockmig::migrate
