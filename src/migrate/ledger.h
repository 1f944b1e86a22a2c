// The destination's ledger: how each migration it received ended.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dockmig/result.h"
#include "migrate/journal.h"

namespace dockmig::migrate {

/// How each migration this agent received ended, so a source that lost the connection at
/// the last step can ask ("status") instead of guessing. Kept in the journal when given
/// one, so that the answer outlives the agent: a committed migration is never answered
/// "unknown" after a restart.
class MigrationLedger {
 public:
  /// In memory only, forgotten with the process (tests).
  MigrationLedger() = default;
  explicit MigrationLedger(Journal journal) : journal_(std::move(journal)) {}

  /// Reads the journal's entries back (at agent start). An entry that cannot be read fails
  /// the load: its migration may have committed, and no answer is better than a wrong one.
  Status load();
  /// A migration accepted here; "active" from now on.
  Status begin(const std::string& id, const std::string& name, const std::string& peer,
               TcpMode tcp = TcpMode::Close);
  /// The container made for it, to be removed unless it commits.
  Status note_container(const std::string& id, const std::string& container_id);
  /// A volume or network made for it, removed with it unless it commits: noted as soon as
  /// it exists, so that an agent that dies right after still knows it made it.
  Status note_volume(const std::string& id, const std::string& name);
  Status note_network(const std::string& id, const std::string& name);
  /// "committed" (only once durable) or "aborted"; `container_removed` forgets the container.
  Status decide(const std::string& id, const std::string& decision, bool container_removed);
  /// "active", "committed", "aborted", or "unknown".
  std::string get(const std::string& id) const;
  std::vector<JournalEntry> entries() const;

 private:
  JournalEntry entry_of(const std::string& id) const;
  Status keep(JournalEntry entry);
  Status note_made(const std::string& id, std::vector<std::string> JournalEntry::*made, const std::string& name);

  std::optional<Journal> journal_;
  mutable std::mutex mutex_;
  std::map<std::string, JournalEntry> entries_;
};

}  // namespace dockmig::migrate
