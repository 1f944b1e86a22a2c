// The records of the volumes containers left here, and the refusal a destination gives a
// volume that holds data: which container left it, and the exact command that clears it.
#include "migrate/left_volumes.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

namespace fs = std::filesystem;

class LeftVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("dockmig-left-volumes-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

const LeftVolume kData{"data", "counter", "layers:ab", "2026-12-05T20:00:00Z", 1'796'500'800};

TEST_F(LeftVolumesTest, NoFileHoldsNoRecord) {
  EXPECT_FALSE(LeftVolumes(root_).find("data"));
  EXPECT_TRUE(LeftVolumes(root_).forget({"data"}));
  EXPECT_FALSE(fs::exists(root_ / "left-volumes.json"));
}

TEST_F(LeftVolumesTest, RecordsSurviveAndALaterLeaveReplacesTheEarlier) {
  ASSERT_TRUE(LeftVolumes(root_).record({kData, {"logs", "counter", "layers:ab", "t", 5}}));
  EXPECT_EQ(LeftVolumes(root_).find("data"), kData);
  LeftVolume again = kData;
  again.container = "other";
  again.left_at += 60;
  ASSERT_TRUE(LeftVolumes(root_).record({again}));
  EXPECT_EQ(LeftVolumes(root_).find("data"), again);
  EXPECT_EQ(LeftVolumes(root_).find("logs")->left_at, 5);
}

TEST_F(LeftVolumesTest, ForgetDropsOnlyTheNamedRecords) {
  ASSERT_TRUE(LeftVolumes(root_).record({kData, {"logs", "counter", "layers:ab", "t", 5}}));
  ASSERT_TRUE(LeftVolumes(root_).forget({"data"}));
  EXPECT_FALSE(LeftVolumes(root_).find("data"));
  EXPECT_TRUE(LeftVolumes(root_).find("logs"));
}

TEST_F(LeftVolumesTest, AFileThatDoesNotParseHoldsNoRecordAndIsReplacedAtTheNextRecord) {
  fs::create_directories(root_);
  for (const char* text : {"{", "[]", R"({"volumes": []})", R"({"volumes": {"data": 7}})",
                           R"({"volumes": {"data": {"image": "x"}}})"}) {
    std::ofstream(root_ / "left-volumes.json") << text;
    EXPECT_FALSE(LeftVolumes(root_).find("data")) << text;
  }
  ASSERT_TRUE(LeftVolumes(root_).record({kData}));
  EXPECT_EQ(LeftVolumes(root_).find("data"), kData);
}

TEST_F(LeftVolumesTest, AVolumeMadeAgainSinceIsNotTheOneLeft) {
  ASSERT_TRUE(LeftVolumes(root_).record({kData}));
  EXPECT_EQ(left_record_of(LeftVolumes(root_), "data", kData.created_at), kData);
  EXPECT_FALSE(left_record_of(LeftVolumes(root_), "data", "2026-12-05T21:00:00Z"));
  EXPECT_FALSE(left_record_of(LeftVolumes(root_), "logs", kData.created_at));
}

TEST(HeldVolumeRefusal, NamesWhoLeftItAndTheExactCommand) {
  Error back = held_volume_refusal("data", kData, "counter", false);
  EXPECT_EQ(back.code, ErrorCode::InvalidInput);
  EXPECT_NE(back.message.find("the data `counter` left there on 2026-12-05 "), std::string::npos) << back.message;
  EXPECT_NE(back.message.find("the source's dockmig cannot take it back"), std::string::npos) << back.message;
  EXPECT_NE(held_volume_refusal("data", kData, "counter", true).message.find("with another image"), std::string::npos);
  EXPECT_NE(back.hint.find("`docker volume rm data`"), std::string::npos) << back.hint;

  Error foreign = held_volume_refusal("data", kData, "web", true);
  EXPECT_NE(foreign.message.find("another container, `counter`"), std::string::npos) << foreign.message;
  EXPECT_NE(foreign.hint.find("`docker volume rm data`"), std::string::npos) << foreign.hint;

  Error unknown = held_volume_refusal("data", std::nullopt, "counter", true);
  EXPECT_NE(unknown.message.find("already exists at the destination with data"), std::string::npos);
  EXPECT_NE(unknown.hint.find("`docker volume rm data`"), std::string::npos) << unknown.hint;
}

}  // namespace
}  // namespace dockmig::migrate
