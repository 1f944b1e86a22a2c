#include "migrate/bind_copies.h"

#include <fstream>

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json create_with_binds() {
  return json::parse(R"({"HostConfig": {"Mounts": [
    {"Type": "bind", "Source": "/srv/data", "Target": "/data"},
    {"Type": "bind", "Source": "/srv/conf", "Target": "/conf"},
    {"Type": "volume", "Source": "pgdata", "Target": "/db"}]}})");
}

fs::path fresh_dir(const char* name) {
  fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  return dir;
}

TEST(BindCopies, PointsEachCopiedMountAtADirOfTheMigrationAndLeavesTheOthers) {
  json prepare = {{"type", "prepare"}, {"copied_binds", json::array({"/data"})}};
  PeerMessage fields(prepare);
  json create = create_with_binds();
  Result<BindCopies> copies = BindCopies::claim(fields, create, "/state/binds/0123456789abcdef");
  ASSERT_TRUE(copies) << copies.error().describe();
  EXPECT_EQ(create["HostConfig"]["Mounts"][0]["Source"], "/state/binds/0123456789abcdef/0");
  EXPECT_EQ(create["HostConfig"]["Mounts"][1]["Source"], "/srv/conf");
  EXPECT_EQ(copies->dirs(), std::vector<fs::path>{"/state/binds/0123456789abcdef/0"});
  EXPECT_EQ(copied_binds_root("/state/staging"), fs::path("/state/binds"));
}

TEST(BindCopies, RefusesATargetThatIsNoBindMountOrIsNamedTwice) {
  for (const json& targets :
       {json::array({"/db"}), json::array({"/nowhere"}), json::array({"/data", "/data"}), json::array({7})}) {
    json prepare = {{"type", "prepare"}, {"copied_binds", targets}};
    PeerMessage fields(prepare);
    json create = create_with_binds();
    EXPECT_FALSE(BindCopies::claim(fields, create, "/state/binds/x")) << targets.dump();
  }
}

TEST(BindCopies, ThePolicyLetsOnlyTheseDirsBeBound) {
  json prepare = {{"type", "prepare"}, {"copied_binds", json::array({"/data"})}};
  PeerMessage fields(prepare);
  json create = create_with_binds();
  Result<BindCopies> copies = BindCopies::claim(fields, create, "/state/binds/m");
  ASSERT_TRUE(copies);
  std::vector<PolicyViolation> refused = check_create(create, copies->allowing({}));
  ASSERT_EQ(refused.size(), 1u);  // /srv/conf, which no --allow-bind opened
  EXPECT_NE(refused[0].value.find("/srv/conf"), std::string::npos) << refused[0].value;
}

TEST(BindCopies, MakesNewDirsRefusesOneThatExistsAndRemovesOnlyWhatItMade) {
  fs::path root = fresh_dir("bind-copies-test");
  json prepare = {{"type", "prepare"}, {"copied_binds", json::array({"/data", "/conf"})}};
  PeerMessage fields(prepare);
  json create = create_with_binds();
  Result<BindCopies> copies = BindCopies::claim(fields, create, root / "m1");
  ASSERT_TRUE(copies);
  ASSERT_TRUE(copies->make());
  EXPECT_TRUE(fs::is_directory(root / "m1" / "0") && fs::is_directory(root / "m1" / "1"));
  copies->remove_made();
  EXPECT_FALSE(fs::exists(root / "m1"));

  fs::create_directories(root / "m2");
  std::ofstream(root / "m2" / "theirs") << "kept";
  PeerMessage again(prepare);
  json other = create_with_binds();
  Result<BindCopies> refused = BindCopies::claim(again, other, root / "m2");
  ASSERT_TRUE(refused);
  Status made = refused->make();
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message.find((root / "m2").string()), std::string::npos) << made.error().message;
  refused->remove_made();
  EXPECT_TRUE(fs::exists(root / "m2" / "theirs"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace dockmig::migrate
