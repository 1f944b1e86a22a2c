#include "docker/networking.h"

#include <gtest/gtest.h>

namespace dockmig::docker {
namespace {

using nlohmann::json;

// Recorded from dockerd 20.10 on the bed (`docker run --network appnet --network-alias db
// --ip 172.31.7.7`, then `docker network connect other`), trimmed.
const json kContainer = json::parse(R"({
  "Id": "8d359e8a9421695ed82c64180af78974c87ae938f1ec2b34e26459034df46398",
  "HostConfig": {"NetworkMode": "appnet", "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "18080"}],
                                                           "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]}},
  "NetworkSettings": {"Networks": {
    "other": {"IPAMConfig": null, "Aliases": ["8d359e8a9421"], "IPAddress": "172.18.0.2"},
    "appnet": {"IPAMConfig": {"IPv4Address": "172.31.7.7"}, "Aliases": ["db", "8d359e8a9421"], "IPAddress": "172.31.7.7"}}}})");

TEST(ParseEndpoints, PutsTheNetworkModeFirstAndDropsTheShortIdAlias) {
  std::vector<Endpoint> endpoints = parse_endpoints(kContainer);
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].network, "appnet");
  EXPECT_EQ(endpoints[0].aliases, std::vector<std::string>{"db"});
  EXPECT_EQ(endpoints[0].ipv4, "172.31.7.7");
  EXPECT_TRUE(endpoints[0].fixed_ip);
  EXPECT_EQ(endpoints[1].network, "other");
  EXPECT_TRUE(endpoints[1].aliases.empty());
  EXPECT_FALSE(endpoints[1].fixed_ip);
}

TEST(ParseNetwork, ReadsTheIpv4PoolOptionsAndTheAddressesInUse) {
  json inspect = json::parse(R"({"Name": "appnet", "Driver": "bridge", "EnableIPv6": false, "Internal": true,
    "IPAM": {"Config": [{"Subnet": "fd00::/64"}, {"Subnet": "172.31.7.0/24"}]},
    "Options": {"com.docker.network.driver.mtu": "1400"}, "Labels": {"tier": "db"},
    "Containers": {"8d35": {"IPv4Address": "172.31.7.7/24"}}})");
  NetworkFacts facts = parse_network(inspect);
  EXPECT_EQ(facts.subnet, "172.31.7.0/24");
  EXPECT_EQ(facts.gateway, "");
  EXPECT_TRUE(facts.internal);
  EXPECT_EQ(facts.options["com.docker.network.driver.mtu"], "1400");
  EXPECT_EQ(facts.addresses, std::vector<std::string>{"172.31.7.7"});
}

TEST(ParsePublishedPorts, ReadsEachBinding) {
  std::vector<PublishedPort> ports = parse_published_ports(kContainer["HostConfig"]);
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(describe(ports[0]), "127.0.0.1:5353/udp");
  EXPECT_EQ(describe(ports[1]), "18080/tcp");
  EXPECT_EQ(ports[1].container_port, "80");
}

TEST(PortsInUse, ListsEachContainersPublicPorts) {
  json running = json::parse(R"([{"Names": ["/web"], "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                                                               {"PrivatePort": 81, "Type": "tcp"}]}])");
  std::vector<PortHolder> held = ports_in_use(running);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].port, 8080);
  EXPECT_EQ(held[0].container, "web");
}

}  // namespace
}  // namespace dockmig::docker
