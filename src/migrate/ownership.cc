#include "migrate/ownership.h"

namespace dockmig::migrate {

RollbackDecision decide_rollback(const Result<int64_t>& kept) {
  return kept ? RollbackDecision::Resume : RollbackDecision::StayCheckpointed;
}

ReconcileDecision decide_reconcile(const std::optional<std::string>& owner, std::string_view self) {
  if (!owner) return ReconcileDecision::Undecided;
  return *owner == self ? ReconcileDecision::KeepOrStart : ReconcileDecision::Remove;
}

}  // namespace dockmig::migrate
