// A SourceRecord writes through to the journal on every step; see source_record.h.
#include "migrate/source_record.h"

namespace dockmig::migrate {

Result<SourceRecord> SourceRecord::open(const std::filesystem::path& state_dir, JournalEntry entry) {
  Journal journal = Journal::in_state_dir(state_dir);
  entry.role = "source";
  entry.phase = kFreezing;
  Result<std::optional<JournalLock>> lock = JournalLock::try_acquire(journal, entry.role, entry.migration);
  if (!lock) return std::move(lock.error()).wrap("journaling migration " + entry.migration);
  if (!*lock) return make_error(ErrorCode::Conflict, "migration " + entry.migration + " is journaled by another process");
  if (Status written = journal.write(entry); !written) return std::move(written.error());
  return SourceRecord(std::move(journal), std::move(entry), std::move(**lock));
}

Status SourceRecord::advance(const char* phase) {
  entry_.phase = phase;
  return journal_.write(entry_);
}

Status SourceRecord::close() {
  Status removed = journal_.remove(entry_.role, entry_.migration);
  lock_.remove_file();
  return removed;
}

}  // namespace dockmig::migrate
