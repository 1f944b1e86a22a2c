#include "migrate/restart_policy.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

TEST(RestartPolicy, OnlyAPolicyThatRestartsIsHeld) {
  EXPECT_EQ(policy_to_hold(json::object()), "");
  EXPECT_EQ(policy_to_hold({{"RestartPolicy", {{"Name", "no"}, {"MaximumRetryCount", 0}}}}), "");
  EXPECT_EQ(policy_to_hold({{"RestartPolicy", {{"Name", ""}}}}), "");
  EXPECT_EQ(policy_to_hold({{"RestartPolicy", nullptr}}), "");
  std::string held = policy_to_hold({{"RestartPolicy", {{"Name", "on-failure"}, {"MaximumRetryCount", 3}}}});
  EXPECT_EQ(json::parse(held), json({{"Name", "on-failure"}, {"MaximumRetryCount", 3}}));
  EXPECT_NE(policy_to_hold({{"RestartPolicy", {{"Name", "unless-stopped"}}}}), "");
}

}  // namespace
}  // namespace dockmig::migrate
