#include "faults/fault_points.h"

#include <gtest/gtest.h>

namespace dockmig::faults {
namespace {

TEST(ParseArming, AnEmptySpecArmsNothing) {
  Result<Arming> arming = parse_arming("");
  ASSERT_TRUE(arming) << arming.error().describe();
  EXPECT_TRUE(arming->empty());
}

TEST(ParseArming, ReadsEveryAction) {
  Result<Arming> arming = parse_arming(
      "source.before-plan=crash,source.before-image=hang,source.before-presync=delay:250,"
      "destination.before-restore=drop-link,transfer.blob-first-chunk-sent=pause,"
      "transfer.finalsync-first-chunk-sending=corrupt");
  ASSERT_TRUE(arming) << arming.error().describe();
  ASSERT_EQ(arming->size(), 6u);
  EXPECT_EQ(arming->at("source.before-plan").kind, ActionKind::Crash);
  EXPECT_EQ(arming->at("source.before-image").kind, ActionKind::Hang);
  EXPECT_EQ(arming->at("source.before-presync").kind, ActionKind::Delay);
  EXPECT_EQ(arming->at("source.before-presync").delay, std::chrono::milliseconds(250));
  EXPECT_EQ(arming->at("destination.before-restore").kind, ActionKind::DropLink);
  EXPECT_EQ(arming->at("transfer.blob-first-chunk-sent").kind, ActionKind::Pause);
  EXPECT_EQ(arming->at("transfer.finalsync-first-chunk-sending").kind, ActionKind::Corrupt);
}

TEST(ParseArming, EveryKnownPointCanBeArmed) {
  for (std::string_view point : known_points()) {
    Result<Arming> arming = parse_arming(std::string(point) + "=pause");
    EXPECT_TRUE(arming) << point;
  }
}

// The error names the part of the spec that is wrong, and why.
void expect_refused(const std::string& spec, const std::string& part, const std::string& why) {
  Result<Arming> arming = parse_arming(spec);
  ASSERT_FALSE(arming) << spec;
  EXPECT_EQ(arming.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(arming.error().message.find("`" + part + "`: " + why), std::string::npos) << arming.error().message;
}

TEST(ParseArming, RefusesAnUnknownPointNamingIt) {
  expect_refused("source.before-plan=crash,source.before-chekpoint=pause", "source.before-chekpoint=pause",
                 "unknown fault point `source.before-chekpoint`");
}

TEST(ParseArming, RefusesAnUnknownActionNamingIt) {
  expect_refused("source.before-plan=run:rm -rf /", "source.before-plan=run:rm -rf /", "unknown action `run:rm -rf /`");
}

TEST(ParseArming, RefusesABadDelay) {
  expect_refused("source.before-plan=delay:soon", "source.before-plan=delay:soon", "the delay `soon` is not");
  expect_refused("source.before-plan=delay:", "source.before-plan=delay:", "the delay `` is not");
}

TEST(ParseArming, RefusesAPartWithoutAnAction) {
  expect_refused("source.before-plan", "source.before-plan", "not POINT=ACTION");
  expect_refused("source.before-plan=crash,", "", "not POINT=ACTION");
}

TEST(ParseArming, RefusesAPointArmedTwice) {
  expect_refused("source.before-plan=crash,source.before-plan=hang", "source.before-plan=hang",
                 "`source.before-plan` is armed twice");
}

}  // namespace
}  // namespace dockmig::faults
