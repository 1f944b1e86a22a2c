// The prepare's `volumes` as a hostile peer may write it: every malformed entry is a
// protocol error, never a throw and never a volume made.
#include "migrate/volume_sync.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

Result<std::vector<VolumeSpec>> specs_of(const json& volumes) {
  json prepare = {{"type", "prepare"}, {"volumes", volumes}};
  PeerMessage fields(prepare);
  return read_volume_specs(fields);
}

TEST(VolumeSpecs, ReadsNamesAndLabelsAsTheSourceWritesThem) {
  MovedVolume volume{"pgdata", "/var/lib/docker/volumes/pgdata/_data", "/data", {{"tier", "db"}}, 10, 1};
  Result<std::vector<VolumeSpec>> specs = specs_of(volume_specs_json({volume}));
  ASSERT_TRUE(specs) << specs.error().describe();
  ASSERT_EQ(specs->size(), 1u);
  EXPECT_EQ((*specs)[0].name, "pgdata");
  EXPECT_EQ((*specs)[0].labels, json({{"tier", "db"}}));
}

TEST(VolumeSpecs, RefusesMoreThanTheMostOneMigrationMoves) {
  json volumes = json::array();
  for (size_t i = 0; i <= kMaxVolumes; ++i) volumes.push_back({{"name", "v" + std::to_string(i)}});
  Result<std::vector<VolumeSpec>> specs = specs_of(volumes);
  ASSERT_FALSE(specs);
  EXPECT_NE(specs.error().message.find("at most"), std::string::npos) << specs.error().message;
}

TEST(VolumeSpecs, AbsentIsNone) {
  json prepare = {{"type", "prepare"}};
  PeerMessage fields(prepare);
  Result<std::vector<VolumeSpec>> specs = read_volume_specs(fields);
  ASSERT_TRUE(specs);
  EXPECT_TRUE(specs->empty());
}

TEST(VolumeSpecs, RefusesEveryMalformedShapeWithAProtocolError) {
  for (const char* volumes : {R"("pgdata")", R"([7])", R"([{"name": 7}])", R"([{"name": "../etc"}])",
                              R"([{"name": "a", "labels": []}])", R"([{"name": "a", "labels": {"k": 1}}])",
                              R"([{"name": "a"}, {"name": "a"}])"}) {
    Result<std::vector<VolumeSpec>> specs = specs_of(json::parse(volumes));
    ASSERT_FALSE(specs) << volumes;
    EXPECT_EQ(specs.error().code, ErrorCode::InvalidInput) << volumes;
    EXPECT_TRUE(specs.error().message.starts_with("protocol:")) << specs.error().message;
  }
}

// The catch-up passes' stop rule, with the figures of PostgreSQL at 5 Mbps
// (docs/benchmarks.md): 0.55 MB/s measured on the link.
constexpr double kFiveMbps = 550'000;

VolumePass pass_of(uint64_t raw, uint64_t wire) { return {wire / kFiveMbps, raw, wire, wire + wire / 20}; }

// Why the passes stop, or "" to send another.
std::string stop(const std::vector<VolumePass>& passes, double target_seconds = 0.5, double rate = kFiveMbps,
                 size_t max_passes = kMaxVolumePasses) {
  return volume_pass_stop_reason(passes, rate, target_seconds, max_passes).value_or("");
}

bool says(const std::string& reason, const std::string& part) { return reason.find(part) != std::string::npos; }

TEST(VolumePassStopRule, NothingSentDecidesNothing) { EXPECT_EQ(stop({}), ""); }

TEST(VolumePassStopRule, AfterTheWholeDataACatchUpPassFollows) {
  // 223 MB of data, 37 MB on the wire: what changed meanwhile is unknown yet.
  EXPECT_EQ(stop({pass_of(223'000'000, 37'000'000)}), "");
}

TEST(VolumePassStopRule, ARewriteAsLargeAsTheDataIsSentBeforeTheFreeze) {
  // Autovacuum rewrote the whole table during pass 1: its delta (178.6 MB raw) is nearly
  // as large as the data, yet pass 1's size is the data's, not a rate of writing.
  EXPECT_EQ(stop({pass_of(223'000'000, 37'000'000), pass_of(178'600'000, 28'500'000)}), "");
}

TEST(VolumePassStopRule, FreezesWhenTheLastPassCrossedWithinTheTarget) {
  std::vector<VolumePass> passes = {pass_of(223'000'000, 37'000'000), pass_of(178'600'000, 28'500'000),
                                    pass_of(2'000'000, 200'000)};
  EXPECT_TRUE(says(stop(passes), "converged: pass 3")) << stop(passes);
  // Not within 0.25 s, and it shrank: another pass.
  EXPECT_EQ(stop(passes, 0.25), "");
}

TEST(VolumePassStopRule, FreezesAtOnceWhenAPassSentAlmostNothing) {
  // No rate measured yet: only the size tells.
  std::string reason = stop({pass_of(100'000, 20'000)}, 0.5, 0);
  EXPECT_TRUE(says(reason, "converged: pass 1 (the whole data) sent")) << reason;
  EXPECT_EQ(stop({pass_of(10'000'000, 2'000'000)}, 0.5, 0), "");
}

TEST(VolumePassStopRule, FreezesWhenCatchUpPassesStopShrinking) {
  std::vector<VolumePass> passes = {pass_of(223'000'000, 37'000'000), pass_of(40'000'000, 8'000'000),
                                    pass_of(36'000'000, 7'000'000)};
  EXPECT_TRUE(says(stop(passes), "not converging")) << stop(passes);
  passes.back() = pass_of(30'000'000, 6'000'000);  // a fifth less: worth another
  EXPECT_EQ(stop(passes), "");
}

TEST(VolumePassStopRule, StopsAtThePassLimit) {
  std::vector<VolumePass> passes;
  for (uint64_t i = 0; i < 4; ++i) passes.push_back(pass_of((40 - 8 * i) * 1'000'000, (40 - 8 * i) * 100'000));
  EXPECT_TRUE(says(stop(passes, 0.5, kFiveMbps, 4), "limit of 4 passes")) << stop(passes, 0.5, kFiveMbps, 4);
  EXPECT_EQ(stop(passes, 0.5, kFiveMbps, 5), "");
}

}  // namespace
}  // namespace dockmig::migrate
