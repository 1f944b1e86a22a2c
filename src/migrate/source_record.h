// The source's journal entry of the migration it runs: written before the container may
// stop, advanced before the destination may start its copy and once it committed, and
// removed when the migration ends with a decision. While a migration runs its lock is
// held, so `dockmig recover` and an agent's start leave it alone; if the process dies,
// the entry is what they settle it from (migrate/recovery.h).
#pragma once

#include <filesystem>
#include <optional>

#include "dockmig/result.h"
#include "migrate/journal.h"

namespace dockmig::migrate {

class SourceRecord {
 public:
  /// Takes the entry's lock and writes `entry` (role "source", phase kFreezing).
  static Result<SourceRecord> open(const std::filesystem::path& state_dir, JournalEntry entry);

  /// Records `phase`, durably, before the caller acts on it.
  Status advance(const char* phase);
  /// The migration ended with a decision: the entry and its lock file go.
  Status close();

 private:
  SourceRecord(Journal journal, JournalEntry entry, JournalLock lock)
      : journal_(std::move(journal)), entry_(std::move(entry)), lock_(std::move(lock)) {}
  Journal journal_;
  JournalEntry entry_;
  JournalLock lock_;
};

}  // namespace dockmig::migrate
