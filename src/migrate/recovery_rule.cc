#include "migrate/recovery_rule.h"

#include "migrate/journal.h"

namespace dockmig::migrate {
namespace {

// The destination runs its copy: the source must not.
Settlement handed_over(SourceState source) {
  return source == SourceState::Running ? Settlement::TwoCopies : Settlement::HandOver;
}

bool checkpoint_crossed(std::string_view phase) {
  return phase == kHandingOver || phase == kDestinationOwns || phase == kCommitted;
}

// The destination cannot have started (or has dropped) its copy: the source runs again.
// With a fleet and a checkpoint that crossed, only once the record is fenced: a swap of
// the destination's still on its way could apply otherwise (docs/fleet.md, the commit rule, 5).
Settlement source_runs(const SettlementFacts& facts) {
  bool fence_first = facts.fleet && checkpoint_crossed(facts.phase);
  if (fence_first && !facts.record) return Settlement::FenceRecord;
  if (fence_first && *facts.record != RollbackDecision::Resume) return Settlement::InDoubt;
  return facts.source == SourceState::Running ? Settlement::KeepRunning : Settlement::Resume;
}

}  // namespace

Settlement decide_settlement(const SettlementFacts& facts) {
  if (facts.person_abandons) return Settlement::Abandon;
  if (facts.source == SourceState::Gone) return Settlement::Gone;
  if (facts.person_resumes) return source_runs(facts);
  if (facts.phase == kCommitted) return handed_over(facts.source);
  if (!checkpoint_crossed(facts.phase)) return source_runs(facts);
  if (!facts.destination_asked) return Settlement::AskDestination;
  if (facts.destination_says) return *facts.destination_says == "committed" ? handed_over(facts.source)
                                                                            : source_runs(facts);
  // Nobody answered: only the fleet's record, fenced, may let the source resume.
  if (facts.fleet) return source_runs(facts);
  return Settlement::InDoubt;
}

}  // namespace dockmig::migrate
