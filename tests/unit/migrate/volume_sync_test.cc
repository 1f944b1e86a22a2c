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

}  // namespace
}  // namespace dockmig::migrate
