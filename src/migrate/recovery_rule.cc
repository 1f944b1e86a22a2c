#include "migrate/recovery_rule.h"

#include "migrate/journal.h"

namespace dockmig::migrate {
namespace {

// The destination runs its copy: the source must not.
Settlement handed_over(SourceState source) {
  return source == SourceState::Running ? Settlement::TwoCopies : Settlement::HandOver;
}

// The destination cannot have started (or has dropped) its copy: the source runs again.
Settlement source_runs(SourceState source) {
  return source == SourceState::Running ? Settlement::KeepRunning : Settlement::Resume;
}

}  // namespace

Settlement decide_settlement(const SettlementFacts& facts) {
  if (facts.person_abandons) return Settlement::Abandon;
  if (facts.source == SourceState::Gone) return Settlement::Gone;
  if (facts.person_resumes) return source_runs(facts.source);
  if (facts.phase == kCommitted) return handed_over(facts.source);
  if (facts.phase != kHandingOver && facts.phase != kDestinationOwns) return source_runs(facts.source);
  if (!facts.destination_asked) return Settlement::AskDestination;
  if (facts.destination_says) return *facts.destination_says == "committed" ? handed_over(facts.source)
                                                                            : source_runs(facts.source);
  if (facts.record == RollbackDecision::Resume) return source_runs(facts.source);
  return Settlement::InDoubt;
}

}  // namespace dockmig::migrate
