// Which of a container's networks and published ports can move, and what the destination
// does with each (docs/design.md, "Networks and ports"): a user-defined bridge network is
// joined there under its name with the container's aliases, made when missing with the
// same subnet and options, and the container keeps its address when that network takes
// fixed addresses and the address is free; a name there with another subnet is refused.
// Published ports are bound again, refused when taken. Pure decisions, unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/networking.h"
#include "dockmig/result.h"
#include "migrate/peer_message.h"

namespace dockmig::migrate {

/// The most user-defined networks one container may be on to be moved.
inline constexpr size_t kMaxNetworks = 16;

/// One user-defined network of the container as the source sees it: what the prepare
/// message's `networks` carries.
struct NetworkSpec {
  docker::NetworkFacts network;  // its addresses left empty
  docker::Endpoint endpoint;
};

/// Why a container on `network` cannot move, or "" when it can.
std::string network_blocker(const docker::NetworkFacts& network);

/// What the destination does with one network.
struct NetworkDecision {
  bool create = false;   // missing here: made from the spec
  bool keep_ip = false;  // the container's address is asked for again
  std::string refusal;   // why the migration is refused; "" when it may go on
};

/// The destination's decision for `wanted`, given its network of that name (nullopt when
/// there is none) and all its networks (for a subnet a missing one would overlap).
NetworkDecision decide_network(const NetworkSpec& wanted, const std::optional<docker::NetworkFacts>& here,
                               const std::vector<docker::NetworkFacts>& all_here);

/// Source side: why a container with `endpoints` cannot keep its open TCP connections
/// (--tcp established), or "" when it can: every address it has must be one the
/// destination can give it again, which only a user-defined network does.
std::string tcp_established_blocker(const std::vector<docker::Endpoint>& endpoints);

/// Destination side: why the container of `specs`, decided as `decisions`, cannot keep its
/// open TCP connections here, or "" when every address of it is kept.
std::string tcp_established_refusal(const std::vector<NetworkSpec>& specs, const std::vector<NetworkDecision>& decisions);

/// Whether two IPv4 subnets ("172.20.0.0/16") share an address; false when either is malformed.
bool subnets_overlap(const std::string& a, const std::string& b);

/// Why publishing `port` at the destination fails, given the ports its running containers
/// hold and the errno of trying to bind it there (0: it bound); "" when it is free.
std::string port_refusal(const docker::PublishedPort& port, const std::vector<docker::PortHolder>& held, int bind_errno);

/// POST /networks/create's body that makes `spec`'s network.
nlohmann::json network_create_body(const NetworkSpec& spec);

/// The EndpointSettings that put the container on `spec`'s network.
nlohmann::json endpoint_config(const NetworkSpec& spec, bool keep_ip);

nlohmann::json network_specs_json(const std::vector<NetworkSpec>& specs);

/// Reads `networks` of a prepare: at most kMaxNetworks distinct, well-formed specs that
/// network_blocker passes; anything else is a protocol error.
Result<std::vector<NetworkSpec>> read_network_specs(PeerMessage& prepare);

/// What `dockmig inspect` says a migration does with the network and the port.
std::string network_plan_text(const NetworkSpec& spec);
std::string port_plan_text(const docker::PublishedPort& port);

}  // namespace dockmig::migrate
