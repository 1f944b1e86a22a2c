#include "migrate/networks.h"
#include "migrate/network_setup.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

docker::NetworkFacts bridge(const std::string& name, const std::string& subnet, const std::string& gateway = "") {
  docker::NetworkFacts facts;
  facts.name = name;
  facts.driver = "bridge";
  facts.subnet = subnet;
  facts.gateway = gateway;
  return facts;
}

NetworkSpec spec(const std::string& ip, bool fixed) {
  return {bridge("appnet", "172.31.7.0/24"), {"appnet", {"db"}, ip, fixed}};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(NetworkBlocker, RefusesOtherDriversIpv6AndHostSpecificOptionsNamingTheNetwork) {
  EXPECT_EQ(network_blocker(bridge("appnet", "172.31.7.0/24")), "");
  docker::NetworkFacts overlay = bridge("mesh", "10.0.9.0/24");
  overlay.driver = "overlay";
  EXPECT_TRUE(contains(network_blocker(overlay), "`mesh` uses the `overlay` driver"));
  docker::NetworkFacts six = bridge("six", "172.31.7.0/24");
  six.ipv6 = true;
  EXPECT_TRUE(contains(network_blocker(six), "IPv6"));
  docker::NetworkFacts named = bridge("named", "172.31.7.0/24");
  named.options = {{"com.docker.network.bridge.name", "docker0"}};
  EXPECT_TRUE(contains(network_blocker(named), "com.docker.network.bridge.name"));
  named.options = {{"com.docker.network.driver.mtu", "1400"}};
  EXPECT_EQ(network_blocker(named), "");
  EXPECT_NE(network_blocker(bridge("nosubnet", "")), "");
}

TEST(SubnetsOverlap, ComparesTheCommonPrefix) {
  EXPECT_TRUE(subnets_overlap("172.20.0.0/16", "172.20.5.0/24"));
  EXPECT_TRUE(subnets_overlap("172.20.5.0/24", "172.20.0.0/16"));
  EXPECT_FALSE(subnets_overlap("172.20.0.0/16", "172.21.0.0/16"));
  EXPECT_TRUE(subnets_overlap("172.31.7.7/32", "172.31.7.0/24"));
  EXPECT_FALSE(subnets_overlap("garbage", "172.20.0.0/16"));
  EXPECT_FALSE(subnets_overlap("172.20.0.0/33", "172.20.0.0/16"));
}

TEST(DecideNetwork, AMissingNetworkIsMadeAndKeepsTheAddress) {
  NetworkDecision decision = decide_network(spec("172.31.7.7", false), std::nullopt, {bridge("bridge", "172.17.0.0/16")});
  EXPECT_TRUE(decision.create);
  EXPECT_TRUE(decision.keep_ip);
  EXPECT_EQ(decision.refusal, "");
}

TEST(DecideNetwork, AMissingNetworkOverlappingAnotherIsRefused) {
  NetworkDecision decision = decide_network(spec("172.31.7.7", false), std::nullopt, {bridge("other", "172.31.0.0/16")});
  EXPECT_TRUE(contains(decision.refusal, "`other`")) << decision.refusal;
}

TEST(DecideNetwork, ANameWithAnotherSubnetIsRefusedNamingBoth) {
  NetworkDecision decision = decide_network(spec("172.31.7.7", false), bridge("appnet", "172.31.8.0/24"), {});
  EXPECT_TRUE(contains(decision.refusal, "`appnet`")) << decision.refusal;
  EXPECT_TRUE(contains(decision.refusal, "172.31.8.0/24")) << decision.refusal;
}

TEST(DecideNetwork, TheAddressIsKeptOnlyWhereTheNetworkTakesFixedAddressesAndItIsFree) {
  docker::NetworkFacts configured = bridge("appnet", "172.31.7.0/24");  // made with --subnet only
  EXPECT_TRUE(decide_network(spec("172.31.7.7", false), configured, {}).keep_ip);
  docker::NetworkFacts automatic = bridge("appnet", "172.31.7.0/24", "172.31.7.1");
  EXPECT_FALSE(decide_network(spec("172.31.7.7", false), automatic, {}).keep_ip);
  EXPECT_TRUE(decide_network(spec("172.31.7.7", true), automatic, {}).keep_ip);  // the user asked for it
  configured.addresses = {"172.31.7.7"};
  NetworkDecision taken = decide_network(spec("172.31.7.7", false), configured, {});
  EXPECT_FALSE(taken.keep_ip);
  EXPECT_EQ(taken.refusal, "");
  EXPECT_TRUE(contains(decide_network(spec("172.31.7.7", true), configured, {}).refusal, "172.31.7.7 on network `appnet`"));
}

TEST(TcpEstablished, TheSourceRefusesAddressesNoDestinationCanGiveAgain) {
  EXPECT_EQ(tcp_established_blocker({{"appnet", {}, "172.31.7.7", true}}), "");
  std::string bridged = tcp_established_blocker({{"appnet", {}, "172.31.7.7", true}, {"bridge", {}, "172.17.0.2", false}});
  EXPECT_TRUE(contains(bridged, "default bridge network")) << bridged;
  EXPECT_TRUE(contains(bridged, "--tcp close")) << bridged;
  EXPECT_TRUE(contains(tcp_established_blocker({}), "no network address of its own"));
}

TEST(TcpEstablished, TheDestinationRefusesAnAddressItDoesNotKeepNamingIt) {
  std::vector<NetworkSpec> specs = {spec("172.31.7.7", false)};
  EXPECT_EQ(tcp_established_refusal(specs, {{false, true, ""}}), "");
  std::string refusal = tcp_established_refusal(specs, {{false, false, ""}});
  EXPECT_TRUE(contains(refusal, "172.31.7.7")) << refusal;
  EXPECT_TRUE(contains(refusal, "`appnet`")) << refusal;
  EXPECT_FALSE(tcp_established_refusal({}, {}).empty()) << "no user-defined network: no address to keep";
}

TEST(PortRefusal, NamesThePortAndWhoHoldsIt) {
  docker::PublishedPort port{"tcp", "80", "", 8080};
  EXPECT_EQ(port_refusal(port, {{8080, "udp", "dns"}, {9090, "tcp", "web"}}, 0), "");
  std::string held = port_refusal(port, {{8080, "tcp", "web"}}, 0);
  EXPECT_TRUE(contains(held, "8080/tcp") && contains(held, "`web`")) << held;
  EXPECT_TRUE(contains(port_refusal(port, {}, EADDRINUSE), "8080/tcp is taken"));
  docker::PublishedPort local{"tcp", "80", "10.9.9.9", 8080};
  EXPECT_TRUE(contains(port_refusal(local, {}, EADDRNOTAVAIL), "10.9.9.9:8080/tcp names an address"));
  EXPECT_EQ(port_refusal({"tcp", "80", "", 0}, {}, 0), "");  // Docker picks a free one
}

TEST(NetworkCreateBody, KeepsSubnetOptionsAndLabelsAndLeavesTheDefaultGatewayOut) {
  NetworkSpec made = spec("172.31.7.7", false);
  made.network.gateway = "172.31.7.1";
  made.network.labels = {{"com.docker.compose.network", "appnet"}};
  json body = network_create_body(made);
  EXPECT_EQ(body["Name"], "appnet");
  EXPECT_EQ(body["Driver"], "bridge");
  EXPECT_EQ(body["IPAM"]["Config"], json::parse(R"([{"Subnet":"172.31.7.0/24"}])"));
  EXPECT_EQ(body["Labels"]["com.docker.compose.network"], "appnet");
  made.network.gateway = "172.31.7.254";
  EXPECT_EQ(network_create_body(made)["IPAM"]["Config"][0]["Gateway"], "172.31.7.254");
}

TEST(EndpointConfig, AsksForTheAddressOnlyWhenKept) {
  EXPECT_EQ(endpoint_config(spec("172.31.7.7", false), true),
            json::parse(R"({"Aliases":["db"],"IPAMConfig":{"IPv4Address":"172.31.7.7"}})"));
  EXPECT_EQ(endpoint_config(spec("172.31.7.7", false), false), json::parse(R"({"Aliases":["db"]})"));
}

TEST(NetworkSpecs, RoundTripThroughThePrepareMessage) {
  json prepare = {{"networks", network_specs_json({spec("172.31.7.7", true)})}};
  PeerMessage fields(prepare);
  Result<std::vector<NetworkSpec>> read = read_network_specs(fields);
  ASSERT_TRUE(read) << read.error().describe();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].network.subnet, "172.31.7.0/24");
  EXPECT_EQ((*read)[0].endpoint.aliases, std::vector<std::string>{"db"});
  EXPECT_TRUE((*read)[0].endpoint.fixed_ip);
}

TEST(NetworkSpecs, RefuseWhatAHostilePeerMightSend) {
  auto refused = [](json entry) {
    json prepare = {{"networks", json::array({entry})}};
    PeerMessage fields(prepare);
    return !read_network_specs(fields);
  };
  json good = network_specs_json({spec("172.31.7.7", false)})[0];
  EXPECT_FALSE(refused(good));
  for (auto [key, value] : std::vector<std::pair<std::string, json>>{
           {"name", "bridge"}, {"name", "../x"}, {"driver", "macvlan"}, {"ipv4", "10.0.0.1"},
           {"options", {{"com.docker.network.bridge.name", "docker0"}}}, {"aliases", {"a b"}}, {"aliases", json(std::vector<std::string>(33, "db"))},
           {"labels", {{"k", 1}}}}) {
    json bad = good;
    bad[key] = value;
    EXPECT_TRUE(refused(bad)) << key << "=" << value.dump();
  }
}

TEST(PortsToHold, AreTheFixedTcpAndUdpPortsOnIpv4) {
  json create = {{"HostConfig",
                  {{"PortBindings",
                    {{"9000/udp", json::array({{{"HostIp", ""}, {"HostPort", "9000"}},
                                               {{"HostIp", "0.0.0.0"}, {"HostPort", "9000"}},
                                               {{"HostIp", "::"}, {"HostPort", "9000"}}})},
                     {"80/tcp", json::array({{{"HostIp", "127.0.0.1"}, {"HostPort", "8080"}}})},
                     {"81/tcp", json::array({{{"HostIp", ""}, {"HostPort", ""}}})},
                     {"5000/sctp", json::array({{{"HostIp", ""}, {"HostPort", "5000"}}})}}}}}};
  std::vector<hostnet::HeldPort> held = ports_to_hold(create);
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0], (hostnet::HeldPort{"tcp", "127.0.0.1", 8080}));
  EXPECT_EQ(held[1], (hostnet::HeldPort{"udp", "", 9000}));
  EXPECT_TRUE(ports_to_hold(json::object()).empty());
}

}  // namespace
}  // namespace dockmig::migrate
