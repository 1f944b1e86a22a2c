// A container's networks and published ports as dockerd reports them: pure parsers of
// the container's and the network's inspect, unit-tested on recorded answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dockmig::docker {

/// The network Docker makes on every host (`docker0`); containers on it only get an
/// address, never a name others resolve, nor a fixed IP.
inline constexpr const char* kDefaultBridge = "bridge";

/// A container's place on one network, from NetworkSettings.Networks.
struct Endpoint {
  std::string network;               // its name
  std::vector<std::string> aliases;  // the user's, without the short id Docker adds itself
  std::string ipv4;                  // its address now, without the prefix length
  bool fixed_ip = false;             // the user asked for it (IPAMConfig.IPv4Address)
};

/// What dockerd says of one network (GET /networks/{name}): what recreating it takes.
struct NetworkFacts {
  std::string name;
  std::string driver;
  std::string subnet;   // the first IPv4 subnet of its IPAM config, "" when none
  std::string gateway;
  bool ipv6 = false;
  bool internal = false;
  bool attachable = false;
  nlohmann::json options = nlohmann::json::object();  // driver options, strings
  nlohmann::json labels = nlohmann::json::object();
  std::vector<std::string> addresses;  // IPv4 addresses of the containers on it here
};

/// One host port a container publishes (HostConfig.PortBindings).
struct PublishedPort {
  std::string protocol;  // "tcp", "udp" or "sctp"
  std::string container_port;
  std::string host_ip;   // "" for every address
  uint16_t host_port = 0;  // 0: Docker picks one
};

/// The container's endpoints, the one of HostConfig.NetworkMode first; its short id is
/// left out of the aliases (a new container gets its own).
std::vector<Endpoint> parse_endpoints(const nlohmann::json& inspect);

NetworkFacts parse_network(const nlohmann::json& inspect);

/// Its port bindings; a binding without a valid host port has host_port 0.
std::vector<PublishedPort> parse_published_ports(const nlohmann::json& host_config);

/// "8080/tcp" (with "127.0.0.1:" first when bound to one address).
std::string describe(const PublishedPort& port);

/// A host port a running container holds, from GET /containers/json's Ports.
struct PortHolder {
  uint16_t port = 0;
  std::string protocol;
  std::string container;  // its name, without Docker's '/'
};

std::vector<PortHolder> ports_in_use(const nlohmann::json& running);

}  // namespace dockmig::docker
