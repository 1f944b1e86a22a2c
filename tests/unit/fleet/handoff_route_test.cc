#include "fleet/handoff_route.h"

#include <gtest/gtest.h>

namespace dockmig::fleet {
namespace {

HostRecord host(const std::string& name, const std::string& address) {
  HostRecord record;
  record.name = name;
  record.agent_address = address + ":7070";
  record.api_address = address + ":8443";
  return record;
}

ServiceLocation owned_by(const std::string& owner) { return {"counter", {owner, "0123456789abcdef", ""}, 42, {}, true}; }

const std::vector<HostRecord> kHosts{host("edge-a", "10.0.0.1"), host("edge-b", "10.0.0.2")};

TEST(HandoffRoute, TheSourceIsTheRecordsHost) {
  Result<HandoffRoute> route = route_between(owned_by("edge-a"), kHosts, "edge-b");
  ASSERT_TRUE(route) << route.error().describe();
  EXPECT_EQ(route->source.api_address, "10.0.0.1:8443");
  EXPECT_EQ(route->destination.agent_address, "10.0.0.2:7070");
  EXPECT_EQ(route->service, "counter");
}

TEST(HandoffRoute, RefusesTheOwnerAsDestination) {
  Result<HandoffRoute> route = route_between(owned_by("edge-a"), kHosts, "edge-a");
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(route.error().message.find("already runs on `edge-a`"), std::string::npos) << route.error().message;
}

TEST(HandoffRoute, RefusesAnUnknownOrDeadHost) {
  Result<HandoffRoute> unknown = route_between(owned_by("edge-a"), kHosts, "edge-z");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::NotFound);
  EXPECT_NE(unknown.error().message.find("no host `edge-z`"), std::string::npos) << unknown.error().message;
  Result<HandoffRoute> dead_source = route_between(owned_by("edge-c"), kHosts, "edge-b");
  ASSERT_FALSE(dead_source);
  EXPECT_EQ(dead_source.error().code, ErrorCode::NotFound);
  EXPECT_NE(dead_source.error().describe().find("edge-c"), std::string::npos) << dead_source.error().describe();
}

TEST(ServiceLocation, JsonSaysWhetherTheHostIsAlive) {
  ServiceLocation location = owned_by("edge-a");
  EXPECT_EQ(to_json(location)["alive"], false);
  location.host = kHosts[0];
  nlohmann::json json = to_json(location);
  EXPECT_EQ(json["alive"], true);
  EXPECT_EQ(json["agent_address"], "10.0.0.1:7070");
  EXPECT_EQ(json["revision"], 42);
}

}  // namespace
}  // namespace dockmig::fleet
