#include "dockmig/migration.h"

#include <gtest/gtest.h>

namespace dockmig {
namespace {

MigrationReport finished_report() {
  MigrationReport report;
  report.container = "web";
  report.source = "unix:///a.sock";
  report.destination = "10.77.1.2:7070";
  report.image_source = "registry";
  report.succeeded = true;
  report.phase("presync") = {"presync", 1.5, 2048, 8192};
  report.phase("finalsync") = {"finalsync", 0.5, 1024, 4096};
  report.handoff_seconds = 3.25;
  report.downtime_seconds = 1.0;
  report.bytes_total = 3072;
  return report;
}

TEST(MigrationReport, PhaseReturnsTheSameEntryByName) {
  MigrationReport report;
  report.phase("image").seconds = 2;
  report.phase("image").wire_bytes = 10;
  ASSERT_EQ(report.phases.size(), 1u);
  EXPECT_EQ(report.phases[0].seconds, 2);
}

TEST(MigrationReport, JsonCarriesPhasesAndTotals) {
  nlohmann::json json = to_json(finished_report());
  EXPECT_EQ(json["image_source"], "registry");
  EXPECT_EQ(json["phases"]["presync"]["wire_bytes"], 2048);
  EXPECT_EQ(json["phases"]["finalsync"]["raw_bytes"], 4096);
  EXPECT_EQ(json["handoff_seconds"], 3.25);
  EXPECT_EQ(json["bytes_total"], 3072);
  EXPECT_TRUE(json["succeeded"]);
}

TEST(MigrationReport, TextNamesEveryPhaseAndTheResult) {
  std::string text = to_text(finished_report());
  EXPECT_NE(text.find("presync"), std::string::npos);
  EXPECT_NE(text.find("downtime 1.000 s"), std::string::npos);
  EXPECT_NE(text.find("runs at the destination"), std::string::npos);
}

}  // namespace
}  // namespace dockmig
