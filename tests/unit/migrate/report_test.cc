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

TEST(MigrationReport, SaysWhatTheReturnCacheAvoided) {
  MigrationReport report = finished_report();
  report.memory.mode = "pre-copy";
  report.memory.return_cache_pages_offered = 12000;
  report.memory.return_cache_pages_used = 11000;
  nlohmann::json json = to_json(report);
  EXPECT_EQ(json["memory"]["return_cache"]["pages_offered"], 12000);
  EXPECT_EQ(json["memory"]["return_cache"]["pages_avoided"], 11000);
  EXPECT_EQ(json["memory"]["return_cache"]["bytes_avoided"], 11000ull * 4096);
  std::string text = to_text(report);
  EXPECT_NE(text.find("return cache: the destination held 12000 pages"), std::string::npos) << text;
}

TEST(MigrationReport, SaysEachVolumePassAndWhatCrossedAfterTheFreeze) {
  MigrationReport report = finished_report();
  report.volumes.passes = {{65.0, 223'000'000, 37'000'000, 37'100'000}, {52.0, 178'600'000, 28'500'000, 29'600'000}};
  report.volumes.stop_reason = "converged: pass 3's 9 KB";
  report.volumes.frozen_raw_bytes = 430'000;
  report.volumes.frozen_wire_bytes = 19'000;
  nlohmann::json json = to_json(report);
  ASSERT_EQ(json["volumes"]["passes"].size(), 2u);
  EXPECT_EQ(json["volumes"]["passes"][1]["wire_bytes"], 28'500'000);
  EXPECT_EQ(json["volumes"]["passes"][1]["link_bytes"], 29'600'000);
  EXPECT_EQ(json["volumes"]["after_freeze"]["wire_bytes"], 19'000);
  EXPECT_EQ(json["volumes"]["stop_reason"], "converged: pass 3's 9 KB");
  std::string text = to_text(report);
  EXPECT_NE(text.find("volume pass 1 (whole): 65.000 s"), std::string::npos) << text;
  EXPECT_NE(text.find("volume pass 2: 52.000 s"), std::string::npos) << text;
  EXPECT_NE(text.find("volume passes stopped: converged"), std::string::npos) << text;
  EXPECT_NE(text.find("volumes after the freeze:"), std::string::npos) << text;
}

TEST(MigrationReport, SaysNothingOfVolumesWithoutThem) {
  EXPECT_EQ(to_text(finished_report()).find("volume"), std::string::npos);
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

TEST(MigrationReport, SaysWhichZstdLevelEachPhaseUsedAndWhy) {
  MigrationReport report = finished_report();
  report.phase("presync").compression = {{"upper", 3, 3, true, 0}};
  report.phase("finalsync").compression = {{"checkpoint", 19, 19, true, 610'000},
                                           {"memory", 19, 15, true, 625'000, 8192, 3000}};
  nlohmann::json json = to_json(report);
  EXPECT_EQ(json["phases"]["finalsync"]["compression"][1]["raw_bytes"], 8192);
  EXPECT_EQ(json["phases"]["finalsync"]["compression"][1]["wire_bytes"], 3000);
  EXPECT_EQ(json["phases"]["finalsync"]["compression"][1]["zstd_level"], 19);
  EXPECT_EQ(json["phases"]["finalsync"]["compression"][1]["final_zstd_level"], 15);
  EXPECT_EQ(json["phases"]["finalsync"]["compression"][1]["automatic"], true);
  EXPECT_EQ(json["compression"]["link_bytes_per_second"], 625'000);
  std::string text = to_text(report);
  EXPECT_NE(text.find("chosen per blob from the link and this CPU (auto); link measured at 5.00 Mbit/s"),
            std::string::npos) << text;
  EXPECT_NE(text.find("presync     zstd 3 (link not measured yet)"), std::string::npos) << text;
  EXPECT_NE(text.find("finalsync   zstd 19, 19->15 at 5.00 Mbit/s"), std::string::npos) << text;
}

TEST(MigrationReport, SaysWhenTheRequestFixedTheZstdLevel) {
  MigrationReport report = finished_report();
  report.phase("presync").compression = {{"upper", 7, 7, false, 0}};
  EXPECT_EQ(to_json(report)["compression"]["automatic"], false);
  EXPECT_NE(to_text(report).find("zstd level 7 for every blob (fixed by the request)"), std::string::npos);
}

TEST(MigrationReport, TextNamesEveryPhaseAndTheResult) {
  std::string text = to_text(finished_report());
  EXPECT_NE(text.find("presync"), std::string::npos);
  EXPECT_NE(text.find("downtime 1.000 s"), std::string::npos);
  EXPECT_NE(text.find("runs at the destination"), std::string::npos);
}

TEST(MigrationReport, SplitsCheckpointAndRestoreIntoCriuAndTheRest) {
  MigrationReport report = finished_report();
  report.phase("checkpoint") = {"checkpoint", 0.5, 0, 0};
  report.phase("restore") = {"restore", 0.8, 0, 0};
  report.checkpoint_path = "docker";
  report.criu_dump = {0.44, 0.04, 0.31, 0.01, 0, 0};
  report.criu_restore = {0.43, 0.29, 0, 0, 0.25, 0.05};
  std::string text = to_text(report);
  EXPECT_NE(text.find("checkpoint: CRIU 0.440 s (tasks frozen 0.310 s, pages 0.010 s, waiting for runc's hooks "
                      "0.040 s); rest of the phase 0.060 s"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("restore: CRIU 0.430 s (waiting for runc's hooks 0.290 s); Docker 0.250 s before it, "
                      "0.050 s after; rest of the phase 0.070 s"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memory left CRIU through containerd's store"), std::string::npos) << text;
  nlohmann::json json = to_json(report);
  EXPECT_EQ(json["criu"]["dump"]["frozen_seconds"], 0.31);
  EXPECT_EQ(json["criu"]["restore"]["hooks_seconds"], 0.29);
  EXPECT_EQ(json["criu"]["restore"]["docker_before_seconds"], 0.25);
}

TEST(MigrationReport, SaysHowRuncsMaskedDirsCrossed) {
  MigrationReport report = finished_report();
  EXPECT_EQ(to_text(report).find("masked dirs"), std::string::npos);
  report.masked_dirs = "runc's masked dirs archived by CRIU: the destination cannot map their key: why";
  EXPECT_NE(to_text(report).find("\n  runc's masked dirs archived by CRIU: the destination cannot map their key: why\n"),
            std::string::npos)
      << to_text(report);
  EXPECT_EQ(to_json(report)["masked_dirs"], report.masked_dirs);
}

TEST(MigrationReport, SaysWhatAutoChoseAndWhy) {
  MigrationReport report = finished_report();
  report.restore_requested = "auto";
  report.restore_choice = "the checkpoint's memory (3.1 MiB) is below the 64.0 MiB from which a lazy restore pays";
  EXPECT_NE(to_text(report).find("restore: eager (auto: the checkpoint's memory (3.1 MiB) is below"), std::string::npos)
      << to_text(report);
  report.restore_mode = "lazy";
  report.lazy_pages = 86000;
  report.lazy_fill_seconds = 1.5;
  report.restore_choice = "the checkpoint's memory (336.0 MiB) reaches the 64.0 MiB from which a lazy restore pays";
  EXPECT_NE(to_text(report).find("restore: lazy; 86000 pages filled in behind the running container in 1.500 s "
                                 "(auto: the checkpoint's memory (336.0 MiB) reaches"),
            std::string::npos)
      << to_text(report);
  nlohmann::json json = to_json(report);
  EXPECT_EQ(json["restore"]["requested"], "auto");
  EXPECT_EQ(json["restore"]["mode"], "lazy");
  EXPECT_EQ(json["restore"]["choice"], report.restore_choice);
  EXPECT_EQ(to_text(finished_report()).find("restore: eager"), std::string::npos) << "eager as asked needs no line";
}

TEST(MigrationReport, CountsThePacketsHeldDuringTheRestore) {
  MigrationReport report = finished_report();
  EXPECT_EQ(to_text(report).find("arrivals:"), std::string::npos) << "none held needs no line";
  report.held_packets = 3;
  EXPECT_NE(to_text(report).find("arrivals: 3 packets reached the destination during the restore"), std::string::npos)
      << to_text(report);
  EXPECT_EQ(to_json(report)["restore"]["held_packets"], 3);
}

TEST(MigrationReport, SaysWhatPostCopyLeftAtTheSourceAndWhenTheLastPageCame) {
  MigrationReport report = finished_report();
  report.memory.mode = "post-copy";
  report.memory.postcopy = {12, 12, 3, 1.5, ""};
  EXPECT_NE(to_text(report).find("post-copy: 12 pages left at the source at the freeze; 12 fetched after the restore "
                                 "in 3 requests, the last 1.500 s after it"),
            std::string::npos)
      << to_text(report);
  nlohmann::json postcopy = to_json(report)["memory"]["postcopy"];
  EXPECT_EQ(postcopy["pages_deferred"], 12);
  EXPECT_EQ(postcopy["fetches"], 3);
  EXPECT_EQ(postcopy["last_page_seconds"], 1.5);
  report.memory.mode = "stop-and-copy";
  report.memory.postcopy = {0, 0, 0, 0, "the destination cannot restore lazily: no uffd"};
  EXPECT_NE(to_text(report).find("memory: stop-and-copy, not post-copy: the destination cannot restore lazily"),
            std::string::npos)
      << to_text(report);
}

TEST(MigrationReport, SaysNothingOfCriuWhenItsShareIsUnknown) {
  EXPECT_EQ(to_text(finished_report()).find("CRIU"), std::string::npos);
}

}  // namespace
}  // namespace dockmig
