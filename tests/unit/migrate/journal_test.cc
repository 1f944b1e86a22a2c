// The journal that decisions outlive a crash in: entries written whole, read back as
// written, a damaged file named in a clear error, locks that keep two processes apart,
// and a destination ledger that answers after a restart what it answered before.
#include <gtest/gtest.h>

#include <fstream>

#include "migrate/journal.h"
#include "migrate/ledger.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::migrate {
namespace {

JournalEntry source_entry(const std::string& id) {
  JournalEntry entry;
  entry.migration = id;
  entry.role = "source";
  entry.container = "web1";
  entry.container_id = "abcdef0123456789";
  entry.peer = "10.77.1.2:7070";
  entry.phase = kHandingOver;
  entry.docker = "unix:///run/docker.sock";
  entry.checkpoint = "dockmig-" + id;
  entry.keep_source = true;
  return entry;
}

class JournalTest : public transfer::testing::ScratchDirTest {
 protected:
  Journal journal() const { return Journal::in_state_dir(dir_); }
};

TEST_F(JournalTest, ReadsBackWhatItWrote) {
  JournalEntry written = source_entry("0123456789abcdef");
  ASSERT_TRUE(journal().write(written));
  EXPECT_FALSE(written.started_at.empty());
  Result<std::optional<JournalEntry>> read = journal().read("source", "0123456789abcdef");
  ASSERT_TRUE(read) << read.error().describe();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(to_json(**read), to_json(written));
}

TEST_F(JournalTest, KeepsTheTcpModeForTheRestoreOfARollbackAndReadsOldEntriesAsClose) {
  JournalEntry written = source_entry("0123456789abcdef");
  written.tcp = TcpMode::Established;
  ASSERT_TRUE(journal().write(written));
  EXPECT_EQ((*journal().read("source", "0123456789abcdef"))->tcp, TcpMode::Established);
  nlohmann::json old = to_json(written);
  old.erase("tcp");
  Result<JournalEntry> from_before = journal_entry_from_json(old);
  ASSERT_TRUE(from_before) << from_before.error().describe();
  EXPECT_EQ(from_before->tcp, TcpMode::Close);
  old["tcp"] = "kept";
  EXPECT_FALSE(journal_entry_from_json(old));
}

TEST_F(JournalTest, ReplacesTheEntryWholeAndLeavesNoTemporaryFile) {
  JournalEntry entry = source_entry("0123456789abcdef");
  ASSERT_TRUE(journal().write(entry));
  entry.phase = kCommitted;
  ASSERT_TRUE(journal().write(entry));
  EXPECT_EQ((*journal().read("source", "0123456789abcdef"))->phase, kCommitted);
  std::vector<std::string> files;
  for (const auto& file : std::filesystem::directory_iterator(journal().dir())) files.push_back(file.path().filename());
  EXPECT_EQ(files, std::vector<std::string>{"source-0123456789abcdef.json"});
}

TEST_F(JournalTest, MissingEntryIsNoEntryAndMissingDirIsAnEmptyJournal) {
  Result<std::optional<JournalEntry>> read = journal().read("source", "0123456789abcdef");
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->has_value());
  JournalListing listing = journal().list("source");
  EXPECT_TRUE(listing.entries.empty());
  EXPECT_TRUE(listing.unreadable.empty());
}

TEST_F(JournalTest, DamagedFileGivesAnErrorNamingItAndTheOthersStillList) {
  JournalEntry good = source_entry("0123456789abcdef");
  ASSERT_TRUE(journal().write(good));
  std::filesystem::path damaged = journal().path_of("source", "fedcba9876543210");
  std::ofstream(damaged) << "{\"migration\": \"fedcba98";
  Result<std::optional<JournalEntry>> read = journal().read("source", "fedcba9876543210");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "journal entry `" + damaged.string() + "`: not valid JSON");
  EXPECT_FALSE(read.error().hint.empty());
  JournalListing listing = journal().list("source");
  ASSERT_EQ(listing.entries.size(), 1u);
  ASSERT_EQ(listing.unreadable.size(), 1u);
  EXPECT_NE(listing.unreadable[0].message.find(damaged.string()), std::string::npos);
}

TEST_F(JournalTest, FieldOfTheWrongTypeIsNamed) {
  std::filesystem::create_directories(journal().dir());
  std::ofstream(journal().path_of("source", "0123456789abcdef"))
      << R"({"migration":"0123456789abcdef","role":"source","phase":7})";
  Result<std::optional<JournalEntry>> read = journal().read("source", "0123456789abcdef");
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("`phase` is not a string"), std::string::npos) << read.error().message;
}

TEST_F(JournalTest, ListsOnlyTheEntriesOfItsRole) {
  JournalEntry source = source_entry("0123456789abcdef");
  JournalEntry destination = source_entry("0123456789abcdef");
  destination.role = "destination";
  ASSERT_TRUE(journal().write(source));
  ASSERT_TRUE(journal().write(destination));
  EXPECT_EQ(journal().list("source").entries.size(), 1u);
  EXPECT_EQ(journal().list("destination").entries.size(), 1u);
  ASSERT_TRUE(journal().remove("source", "0123456789abcdef"));
  EXPECT_TRUE(journal().list("source").entries.empty());
}

TEST_F(JournalTest, LockIsHeldAgainstASecondHolderUntilReleased) {
  Result<std::optional<JournalLock>> first = JournalLock::try_acquire(journal(), "source", "0123456789abcdef");
  ASSERT_TRUE(first && first->has_value());
  Result<std::optional<JournalLock>> second = JournalLock::try_acquire(journal(), "source", "0123456789abcdef");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->has_value());
  first->reset();
  Result<std::optional<JournalLock>> third = JournalLock::try_acquire(journal(), "source", "0123456789abcdef");
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->has_value());
}

TEST_F(JournalTest, LedgerAnswersAfterARestartWhatItAnsweredBefore) {
  {
    MigrationLedger ledger(journal());
    ASSERT_TRUE(ledger.begin("0123456789abcdef", "web1", "10.77.1.1"));
    ASSERT_TRUE(ledger.note_container("0123456789abcdef", "c0ffee"));
    ASSERT_TRUE(ledger.decide("0123456789abcdef", "committed", /*container_removed=*/false));
    ASSERT_TRUE(ledger.begin("1111111111111111", "web2", "10.77.1.1"));
    EXPECT_EQ(ledger.get("1111111111111111"), "active");
  }
  MigrationLedger restarted(journal());
  ASSERT_TRUE(restarted.load());
  EXPECT_EQ(restarted.get("0123456789abcdef"), "committed");
  EXPECT_EQ(restarted.get("1111111111111111"), "active");  // until recover_interrupted settles it
  EXPECT_EQ(restarted.get("2222222222222222"), "unknown");
}

TEST_F(JournalTest, LedgerRemembersAfterARestartTheVolumesAndNetworksMadeForAMigration) {
  {
    MigrationLedger ledger(journal());
    ASSERT_TRUE(ledger.begin("0123456789abcdef", "db", "10.77.1.1"));
    ASSERT_TRUE(ledger.note_volume("0123456789abcdef", "pgdata"));
    ASSERT_TRUE(ledger.note_network("0123456789abcdef", "backend"));
    ASSERT_TRUE(ledger.note_network("0123456789abcdef", "frontend"));
  }  // the agent dies before the container exists
  MigrationLedger restarted(journal());
  ASSERT_TRUE(restarted.load());
  std::vector<JournalEntry> entries = restarted.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].volumes_made, std::vector<std::string>{"pgdata"});
  EXPECT_EQ(entries[0].networks_made, (std::vector<std::string>{"backend", "frontend"}));
  EXPECT_TRUE(entries[0].container_id.empty());
}

TEST_F(JournalTest, EntriesFromBeforeTheListsReadAsNothingMadeAndAMistypedListIsNamed) {
  nlohmann::json old = to_json(source_entry("0123456789abcdef"));
  old.erase("volumes_made");
  old.erase("networks_made");
  Result<JournalEntry> from_before = journal_entry_from_json(old);
  ASSERT_TRUE(from_before) << from_before.error().describe();
  EXPECT_TRUE(from_before->networks_made.empty());
  old["networks_made"] = {"backend", 7};
  Result<JournalEntry> mistyped = journal_entry_from_json(old);
  ASSERT_FALSE(mistyped);
  EXPECT_NE(mistyped.error().message.find("networks_made"), std::string::npos);
}

TEST_F(JournalTest, LedgerRefusesToLoadADamagedEntry) {
  std::filesystem::create_directories(journal().dir());
  std::ofstream(journal().path_of("destination", "0123456789abcdef")) << "garbage";
  MigrationLedger ledger(journal());
  Status loaded = ledger.load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("destination-0123456789abcdef.json"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::migrate
