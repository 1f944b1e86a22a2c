#include "migrate/recovery_rule.h"

#include <gtest/gtest.h>

#include "migrate/journal.h"

namespace dockmig::migrate {
namespace {

constexpr SourceState kRunning = SourceState::Running;
constexpr SourceState kStopped = SourceState::Stopped;

SettlementFacts facts(std::string_view phase, SourceState source) {
  SettlementFacts known;
  known.phase = phase;
  known.source = source;
  return known;
}

SettlementFacts answered(std::string_view phase, SourceState source, std::string says) {
  SettlementFacts known = facts(phase, source);
  known.destination_asked = true;
  known.destination_says = std::move(says);
  return known;
}

SettlementFacts unreachable(std::string_view phase, SourceState source, std::optional<RollbackDecision> record) {
  SettlementFacts known = facts(phase, source);
  known.destination_asked = true;
  known.fleet = true;
  known.record = record;
  return known;
}

// Recover with --etcd: the record, once fenced, is `record`.
SettlementFacts in_fleet(SettlementFacts known, std::optional<RollbackDecision> record) {
  known.fleet = true;
  known.record = record;
  return known;
}

// "frozen" stands for every phase before the checkpoint starts to cross.
TEST(RecoveryRule, BeforeTheCheckpointCrossesTheSourceRunsAgain) {
  EXPECT_EQ(decide_settlement(facts("frozen", kStopped)), Settlement::Resume);
  EXPECT_EQ(decide_settlement(facts("frozen", kRunning)), Settlement::KeepRunning);
}

TEST(RecoveryRule, OnceItMayHaveCrossedOnlyTheDestinationDecides) {
  for (std::string_view phase : {kHandingOver, kDestinationOwns}) {
    EXPECT_EQ(decide_settlement(facts(phase, kStopped)), Settlement::AskDestination) << phase;
    EXPECT_EQ(decide_settlement(answered(phase, kStopped, "committed")), Settlement::HandOver) << phase;
    EXPECT_EQ(decide_settlement(answered(phase, kRunning, "committed")), Settlement::TwoCopies) << phase;
    EXPECT_EQ(decide_settlement(answered(phase, kStopped, "rolled_back")), Settlement::Resume) << phase;
    EXPECT_EQ(decide_settlement(answered(phase, kStopped, "unknown")), Settlement::Resume) << phase;
    EXPECT_EQ(decide_settlement(answered(phase, kRunning, "rolled_back")), Settlement::KeepRunning) << phase;
  }
}

TEST(RecoveryRule, ADestinationThatCannotBeAskedLeavesTheSourceStoppedUnlessTheRecordNamesIt) {
  SettlementFacts without_fleet = facts(kHandingOver, kStopped);
  without_fleet.destination_asked = true;
  EXPECT_EQ(decide_settlement(without_fleet), Settlement::InDoubt);
  EXPECT_EQ(decide_settlement(unreachable(kHandingOver, kStopped, std::nullopt)), Settlement::FenceRecord);
  EXPECT_EQ(decide_settlement(unreachable(kHandingOver, kStopped, RollbackDecision::StayCheckpointed)),
            Settlement::InDoubt);
  EXPECT_EQ(decide_settlement(unreachable(kHandingOver, kRunning, RollbackDecision::StayCheckpointed)),
            Settlement::InDoubt);
  EXPECT_EQ(decide_settlement(unreachable(kHandingOver, kStopped, RollbackDecision::Resume)), Settlement::Resume);
  EXPECT_EQ(decide_settlement(unreachable(kDestinationOwns, kRunning, RollbackDecision::Resume)),
            Settlement::KeepRunning);
}

// A destination's "rolled back" (or a person's word) cannot stop a swap of its still on its
// way: with a fleet the source runs again only once it fenced the record (Ownership::keep).
TEST(RecoveryRule, WithAFleetACrossedSourceResumesOnlyOnceItFencedTheRecord) {
  for (std::string_view phase : {kHandingOver, kDestinationOwns}) {
    SettlementFacts rolled_back = answered(phase, kStopped, "rolled_back");
    EXPECT_EQ(decide_settlement(in_fleet(rolled_back, std::nullopt)), Settlement::FenceRecord) << phase;
    EXPECT_EQ(decide_settlement(in_fleet(rolled_back, RollbackDecision::Resume)), Settlement::Resume) << phase;
    EXPECT_EQ(decide_settlement(in_fleet(rolled_back, RollbackDecision::StayCheckpointed)), Settlement::InDoubt)
        << phase;
    EXPECT_EQ(decide_settlement(in_fleet(answered(phase, kStopped, "committed"), std::nullopt)),
              Settlement::HandOver) << phase;
  }
  for (std::string_view phase : {kHandingOver, kCommitted}) {
    SettlementFacts resume = facts(phase, kStopped);
    resume.person_resumes = true;
    EXPECT_EQ(decide_settlement(in_fleet(resume, std::nullopt)), Settlement::FenceRecord) << phase;
    EXPECT_EQ(decide_settlement(in_fleet(resume, RollbackDecision::Resume)), Settlement::Resume) << phase;
    EXPECT_EQ(decide_settlement(in_fleet(resume, RollbackDecision::StayCheckpointed)), Settlement::InDoubt) << phase;
  }
  // Before the checkpoint crossed the destination cannot swap: no fence.
  EXPECT_EQ(decide_settlement(in_fleet(facts("frozen", kStopped), std::nullopt)), Settlement::Resume);
}

TEST(RecoveryRule, ACommittedEntryEndsTheSourceAndNeverResumesIt) {
  EXPECT_EQ(decide_settlement(facts(kCommitted, kStopped)), Settlement::HandOver);
  EXPECT_EQ(decide_settlement(facts(kCommitted, kRunning)), Settlement::TwoCopies);
}

TEST(RecoveryRule, APersonsWordComesFirstAndAGoneContainerEndsIt) {
  SettlementFacts abandon = facts(kHandingOver, kStopped);
  abandon.person_abandons = true;
  EXPECT_EQ(decide_settlement(abandon), Settlement::Abandon);
  SettlementFacts resume = facts(kCommitted, kStopped);
  resume.person_resumes = true;
  EXPECT_EQ(decide_settlement(resume), Settlement::Resume);
  resume.source = kRunning;
  EXPECT_EQ(decide_settlement(resume), Settlement::KeepRunning);
  EXPECT_EQ(decide_settlement(facts(kHandingOver, SourceState::Gone)), Settlement::Gone);
  EXPECT_EQ(decide_settlement(facts(kCommitted, SourceState::Gone)), Settlement::Gone);
}

}  // namespace
}  // namespace dockmig::migrate
