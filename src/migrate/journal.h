// The durable record of each migration in doubt, one JSON file per migration and side in
// `<state-dir>/journal/`, so that a decision outlives the process that made it
// (docs/protocol.md, "Decisions that survive a crash"). The destination's entries are its
// ledger; the source's say how far a migration got, for `dockmig recover`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::migrate {

/// Source phases: the container may be stopped from kFreezing on; the destination may
/// start its copy from kHandingOver on; kCommitted once it said it runs its copy.
inline constexpr const char* kFreezing = "freezing";
inline constexpr const char* kHandingOver = "handing_over";
inline constexpr const char* kCommitted = "committed";
/// With a fleet: the rollback found the ownership record naming the destination (or
/// could not read it), so the source stays checkpointed until the destination answers.
inline constexpr const char* kDestinationOwns = "destination_owns";
/// Destination phases: kAccepted, then kCreated once its container exists.
inline constexpr const char* kAccepted = "accepted";
inline constexpr const char* kCreated = "created";

struct JournalEntry {
  std::string migration;     // the migration id (16 hex digits)
  std::string role;          // "source" or "destination"
  std::string container;     // the container's name on this side
  std::string container_id;  // this side's container; at the destination cleared once removed
  std::string peer;          // the other side: the destination's ADDR:PORT, or the source's address
  std::string phase;
  std::string decision;      // "", "committed" or "aborted"
  std::string docker;        // the source's dockerd socket
  std::string checkpoint;    // the source's checkpoint name, to resume from
  std::string restart_policy;  // the source's own (JSON), held at "no" while it is stopped
  bool keep_source = false;  // a committed source is kept instead of removed
  TcpMode tcp = TcpMode::Close;  // the dump's; a restore of its checkpoint needs the same
  // At the destination: what was made for the migration, removed with it unless it commits.
  std::vector<std::string> volumes_made;
  std::vector<std::string> networks_made;
  std::string started_at;    // ISO 8601, UTC
  std::string updated_at;
};

nlohmann::json to_json(const JournalEntry& entry);
/// Fails naming the missing or mistyped field.
Result<JournalEntry> journal_entry_from_json(const nlohmann::json& object);

/// What the journal holds, and the files it could not read (each error names its file).
struct JournalListing {
  std::vector<JournalEntry> entries;
  std::vector<Error> unreadable;
};

class Journal {
 public:
  /// `dir` is created when the first entry is written.
  explicit Journal(std::filesystem::path dir) : dir_(std::move(dir)) {}
  /// `<state_dir>/journal`.
  static Journal in_state_dir(const std::filesystem::path& state_dir);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_of(const std::string& role, const std::string& migration) const;

  /// Writes `entry` durably (temp file, fsync, rename, fsync dir), stamping updated_at
  /// (and started_at when empty).
  Status write(JournalEntry& entry) const;
  /// nullopt when there is no entry; an error when its file cannot be read or parsed.
  Result<std::optional<JournalEntry>> read(const std::string& role, const std::string& migration) const;
  /// Every entry of `role`; an absent dir is an empty journal.
  JournalListing list(const std::string& role) const;
  Status remove(const std::string& role, const std::string& migration) const;
  /// Removes `role`'s entries decided more than `days` ago.
  void prune_decided(const std::string& role, int days) const;

 private:
  std::filesystem::path dir_;
};

/// Held by the process that runs a migration for as long as it runs: `dockmig recover` and
/// an agent's start leave an entry alone while its lock is held (a flock, so a process
/// killed -9 releases it).
class JournalLock {
 public:
  /// nullopt when another process (or another open in this one) holds it.
  static Result<std::optional<JournalLock>> try_acquire(const Journal& journal, const std::string& role,
                                                        const std::string& migration);
  /// Removes the lock file; the lock ends when this is destroyed.
  void remove_file() const;

 private:
  JournalLock(base::UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  base::UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace dockmig::migrate
