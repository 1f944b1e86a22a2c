// The ledger keeps every entry in memory for the answers and writes each change through
// to the journal. A commit is recorded in memory only once it is durable, so that the
// agent never answers "committed" for what a restart would answer otherwise.
#include "migrate/ledger.h"

namespace dockmig::migrate {

Status MigrationLedger::load() {
  if (!journal_) return {};
  journal_->prune_decided("destination", /*days=*/30);
  JournalListing listing = journal_->list("destination");
  if (!listing.unreadable.empty()) return std::move(listing.unreadable.front()).wrap("loading the ledger");
  std::lock_guard lock(mutex_);
  for (JournalEntry& entry : listing.entries) entries_[entry.migration] = std::move(entry);
  return {};
}

Status MigrationLedger::keep(JournalEntry entry) {
  Status written = journal_ ? journal_->write(entry) : Status{};
  if (!written && entry.decision == "committed") return written;
  std::lock_guard lock(mutex_);
  entries_[entry.migration] = std::move(entry);
  return written;
}

Status MigrationLedger::begin(const std::string& id, const std::string& name, const std::string& peer,
                              TcpMode tcp) {
  JournalEntry entry;
  entry.tcp = tcp;
  entry.migration = id;
  entry.role = "destination";
  entry.container = name;
  entry.peer = peer;
  entry.phase = kAccepted;
  return keep(std::move(entry));
}

JournalEntry MigrationLedger::entry_of(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return entries_.at(id);
}

Status MigrationLedger::note_container(const std::string& id, const std::string& container_id) {
  JournalEntry entry = entry_of(id);
  entry.container_id = container_id;
  entry.phase = kCreated;
  return keep(std::move(entry));
}

Status MigrationLedger::note_volume(const std::string& id, const std::string& name) {
  return note_made(id, &JournalEntry::volumes_made, name);
}

Status MigrationLedger::note_network(const std::string& id, const std::string& name) {
  return note_made(id, &JournalEntry::networks_made, name);
}

Status MigrationLedger::note_made(const std::string& id, std::vector<std::string> JournalEntry::*made,
                                  const std::string& name) {
  JournalEntry entry = entry_of(id);
  (entry.*made).push_back(name);
  return keep(std::move(entry));
}

Status MigrationLedger::decide(const std::string& id, const std::string& decision, bool container_removed) {
  JournalEntry entry = entry_of(id);
  entry.decision = decision;
  if (container_removed) entry.container_id.clear();
  return keep(std::move(entry));
}

std::string MigrationLedger::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(id);
  if (found == entries_.end()) return "unknown";
  return found->second.decision.empty() ? "active" : found->second.decision;
}

std::vector<JournalEntry> MigrationLedger::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<JournalEntry> all;
  for (const auto& [id, entry] : entries_) all.push_back(entry);
  return all;
}

}  // namespace dockmig::migrate
