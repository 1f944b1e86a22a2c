#include "migrate/ownership.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

TEST(RollbackDecision, ResumesOnlyOnceTheRecordNamingTheSourceIsFenced) {
  EXPECT_EQ(decide_rollback(Result<int64_t>(42)), RollbackDecision::Resume);
  // Another host, or no record at all (someone removed it), proves nothing either.
  Result<int64_t> elsewhere = make_error(ErrorCode::Conflict, "the record names `edge-b`");
  EXPECT_EQ(decide_rollback(elsewhere), RollbackDecision::StayCheckpointed);
  // etcd could not be read or written: never resume blindly.
  Result<int64_t> unreachable = make_error(ErrorCode::Network, "etcd does not answer");
  EXPECT_EQ(decide_rollback(unreachable), RollbackDecision::StayCheckpointed);
}

TEST(ReconcileDecision, TheNamedHostKeepsItsCopy) {
  EXPECT_EQ(decide_reconcile(std::string("edge-b"), "edge-b"), ReconcileDecision::KeepOrStart);
  EXPECT_EQ(decide_reconcile(std::string("edge-a"), "edge-b"), ReconcileDecision::Remove);
  EXPECT_EQ(decide_reconcile(std::string(), "edge-b"), ReconcileDecision::Remove);
  EXPECT_EQ(decide_reconcile(std::nullopt, "edge-b"), ReconcileDecision::Undecided);
}

}  // namespace
}  // namespace dockmig::migrate
