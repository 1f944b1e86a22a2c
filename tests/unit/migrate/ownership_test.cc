#include "migrate/ownership.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

TEST(RollbackDecision, ResumesOnlyWhileTheRecordNamesTheSource) {
  EXPECT_EQ(decide_rollback(std::string("edge-a"), "edge-a"), RollbackDecision::Resume);
  EXPECT_EQ(decide_rollback(std::string("edge-b"), "edge-a"), RollbackDecision::StayCheckpointed);
  // No record (someone removed it) proves nothing either.
  EXPECT_EQ(decide_rollback(std::string(), "edge-a"), RollbackDecision::StayCheckpointed);
  // etcd could not be read: never resume blindly.
  EXPECT_EQ(decide_rollback(std::nullopt, "edge-a"), RollbackDecision::StayCheckpointed);
}

TEST(ReconcileDecision, TheNamedHostKeepsItsCopy) {
  EXPECT_EQ(decide_reconcile(std::string("edge-b"), "edge-b"), ReconcileDecision::KeepOrStart);
  EXPECT_EQ(decide_reconcile(std::string("edge-a"), "edge-b"), ReconcileDecision::Remove);
  EXPECT_EQ(decide_reconcile(std::string(), "edge-b"), ReconcileDecision::Remove);
  EXPECT_EQ(decide_reconcile(std::nullopt, "edge-b"), ReconcileDecision::Undecided);
}

}  // namespace
}  // namespace dockmig::migrate
