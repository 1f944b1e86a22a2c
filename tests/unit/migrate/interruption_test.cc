#include <signal.h>

#include <gtest/gtest.h>

#include "migrate/source_migration.h"

namespace dockmig::migrate {
namespace {

TEST(Interruption, CutsTheLinkWhileTheMigrationAllowsIt) {
  Interruption interruption;
  int cuts = 0;
  interruption.allow_cut([&] { ++cuts; });
  EXPECT_EQ(interruption.request(SIGINT), Interruption::Effect::Stopping);
  EXPECT_EQ(cuts, 1);
  EXPECT_EQ(interruption.signal(), SIGINT);
  EXPECT_EQ(interruption.signal_name(), "SIGINT");
}

TEST(Interruption, ARequestBeforeTheLinkExistsCutsItAsSoonAsItIsAllowed) {
  Interruption interruption;
  EXPECT_EQ(interruption.request(SIGTERM), Interruption::Effect::Stopping);
  int cuts = 0;
  interruption.allow_cut([&] { ++cuts; });
  EXPECT_EQ(cuts, 1);
}

TEST(Interruption, OnlyRecordsOnceTheCutIsForbidden) {
  Interruption interruption;
  int cuts = 0;
  interruption.allow_cut([&] { ++cuts; });
  interruption.forbid_cut();
  EXPECT_EQ(interruption.request(SIGTERM), Interruption::Effect::Finishing);
  interruption.allow_cut([&] { ++cuts; });  // too late: forbidden stays forbidden
  EXPECT_EQ(cuts, 0);
  EXPECT_EQ(interruption.signal_name(), "SIGTERM");
}

TEST(Interruption, ASecondSignalChangesNothing) {
  Interruption interruption;
  int cuts = 0;
  interruption.allow_cut([&] { ++cuts; });
  interruption.request(SIGTERM);
  EXPECT_EQ(interruption.request(SIGINT), Interruption::Effect::Repeated);
  EXPECT_EQ(cuts, 1);
  EXPECT_EQ(interruption.signal(), SIGTERM);
}

}  // namespace
}  // namespace dockmig::migrate
