#include "migrate/networks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

// Bridge options that mean the same on any host. `com.docker.network.bridge.name` is
// not among them: a peer could name a bridge of the destination's own, such as docker0.
constexpr std::array<const char*, 4> kMovableOptions = {
    "com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade",
    "com.docker.network.bridge.host_binding_ipv4", "com.docker.network.driver.mtu"};

std::optional<uint32_t> ipv4(const std::string& text) {
  in_addr address{};
  if (inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

struct Cidr {
  uint32_t base = 0;
  uint32_t mask = 0;
};

std::optional<Cidr> cidr(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::optional<uint32_t> address = ipv4(text.substr(0, slash));
  std::string bits = text.substr(slash + 1);
  if (!address || bits.empty() || bits.size() > 2 || !std::all_of(bits.begin(), bits.end(), ::isdigit)) return std::nullopt;
  int prefix = std::stoi(bits);
  if (prefix > 32) return std::nullopt;
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return Cidr{*address & mask, mask};
}

bool movable_option(const std::string& key) {
  return std::any_of(kMovableOptions.begin(), kMovableOptions.end(), [&](const char* option) { return key == option; });
}

// Docker gives a network made with only --subnet the subnet's first address as gateway.
bool default_gateway(const std::string& subnet, const std::string& gateway) {
  std::optional<Cidr> range = cidr(subnet);
  std::optional<uint32_t> address = ipv4(gateway);
  return range && address && *address == range->base + 1;
}

// A network whose IPAM config names a subnet but no gateway was made with --subnet: only
// such a network takes fixed addresses, and dockerd's inspect shows no other sign of it.
bool takes_fixed_addresses(const docker::NetworkFacts& network) {
  return !network.subnet.empty() && network.gateway.empty();
}

std::string taken_refusal(const NetworkSpec& wanted) {
  return "its fixed address " + wanted.endpoint.ipv4 + " on network `" + wanted.network.name +
         "` is taken at the destination";
}

}  // namespace

std::string network_blocker(const docker::NetworkFacts& network) {
  const std::string named = "its network `" + network.name + "`";
  if (network.driver != "bridge")
    return named + " uses the `" + network.driver + "` driver; dockmig moves containers on bridge networks only";
  if (network.ipv6) return named + " has IPv6, which dockmig does not recreate yet";
  if (!cidr(network.subnet)) return named + " has no IPv4 subnet dockmig can recreate";
  if (!network.gateway.empty() && !ipv4(network.gateway)) return named + " has a malformed gateway";
  for (const auto& [key, value] : network.options.items())
    if (!movable_option(key) || !value.is_string())
      return named + " has the driver option `" + key + "`, which dockmig does not recreate at the destination";
  return "";
}

bool subnets_overlap(const std::string& a, const std::string& b) {
  std::optional<Cidr> first = cidr(a), second = cidr(b);
  if (!first || !second) return false;
  uint32_t common = first->mask & second->mask;
  return (first->base & common) == (second->base & common);
}

NetworkDecision decide_network(const NetworkSpec& wanted, const std::optional<docker::NetworkFacts>& here,
                               const std::vector<docker::NetworkFacts>& all_here) {
  const std::string& name = wanted.network.name;
  const std::string& ip = wanted.endpoint.ipv4;
  if (!here) {
    for (const docker::NetworkFacts& other : all_here)
      if (subnets_overlap(other.subnet, wanted.network.subnet))
        return {false, false, "its network `" + name + "` (" + wanted.network.subnet + ") would overlap the destination's network `" +
                                  other.name + "` (" + other.subnet + ")"};
    return {true, !ip.empty(), ""};
  }
  if (here->driver != "bridge")
    return {false, false, "a network named `" + name + "` exists at the destination with the `" + here->driver + "` driver"};
  if (here->subnet != wanted.network.subnet)
    return {false, false, "a network named `" + name + "` exists at the destination with subnet " +
                              (here->subnet.empty() ? "none" : here->subnet) + "; the container's is on " +
                              wanted.network.subnet};
  bool taken = std::find(here->addresses.begin(), here->addresses.end(), ip) != here->addresses.end();
  if (wanted.endpoint.fixed_ip && taken) return {false, false, taken_refusal(wanted)};
  bool keep = !ip.empty() && !taken && (wanted.endpoint.fixed_ip || takes_fixed_addresses(*here));
  return {false, keep, ""};
}

std::string tcp_established_blocker(const std::vector<docker::Endpoint>& endpoints) {
  const std::string cannot = "--tcp established needs the container's address kept at the destination, but ";
  if (endpoints.empty()) return cannot + "it has no network address of its own (network mode host, none or another container's)";
  for (const docker::Endpoint& endpoint : endpoints)
    if (endpoint.network == docker::kDefaultBridge)
      return cannot + "it is on Docker's default bridge network, whose addresses each host hands out itself; put it "
                      "on a user-defined network (docker network create --subnet ...), or migrate with --tcp close";
  return "";
}

std::string tcp_established_refusal(const std::vector<NetworkSpec>& specs, const std::vector<NetworkDecision>& decisions) {
  if (specs.empty()) return "--tcp established needs the container's address kept, and it is on no user-defined network";
  for (size_t i = 0; i < specs.size() && i < decisions.size(); ++i)
    if (!decisions[i].keep_ip)
      return "--tcp established needs the container's address kept, but its address " +
             (specs[i].endpoint.ipv4.empty() ? std::string("(none)") : specs[i].endpoint.ipv4) + " on network `" +
             specs[i].network.name + "` cannot be had at the destination (taken there, or that network takes no "
             "fixed addresses)";
  return "";
}

std::string port_refusal(const docker::PublishedPort& port, const std::vector<docker::PortHolder>& held, int bind_errno) {
  if (port.host_port == 0) return "";
  const std::string named = "its published port " + docker::describe(port);
  for (const docker::PortHolder& holder : held)
    if (holder.port == port.host_port && holder.protocol == port.protocol)
      return named + " is taken at the destination by the container `" + holder.container + "`";
  if (bind_errno == EADDRNOTAVAIL) return named + " names an address the destination does not have";
  if (bind_errno != 0) return named + " is taken at the destination (" + std::strerror(bind_errno) + ")";
  return "";
}

json network_create_body(const NetworkSpec& spec) {
  const docker::NetworkFacts& network = spec.network;
  json pool = {{"Subnet", network.subnet}};
  if (!network.gateway.empty() && !default_gateway(network.subnet, network.gateway)) pool["Gateway"] = network.gateway;
  return {{"Name", network.name},           {"Driver", "bridge"},
          {"CheckDuplicate", true},         {"Internal", network.internal},
          {"Attachable", network.attachable}, {"Options", network.options},
          {"Labels", network.labels},       {"IPAM", {{"Driver", "default"}, {"Config", json::array({pool})}}}};
}

json endpoint_config(const NetworkSpec& spec, bool keep_ip) {
  json config = {{"Aliases", spec.endpoint.aliases}};
  if (keep_ip) config["IPAMConfig"] = {{"IPv4Address", spec.endpoint.ipv4}};
  return config;
}

std::string network_plan_text(const NetworkSpec& spec) {
  std::string aliases;
  for (const std::string& alias : spec.endpoint.aliases) aliases += (aliases.empty() ? "" : ", ") + alias;
  return "network " + spec.network.name + " (bridge, " + spec.network.subnet + "), address " +
         (spec.endpoint.ipv4.empty() ? "none" : spec.endpoint.ipv4) + (spec.endpoint.fixed_ip ? " (fixed)" : "") +
         (aliases.empty() ? "" : ", aliases " + aliases) +
         ": joined at the destination under its name, made there when missing; the address is kept when that "
         "network takes it" + (spec.endpoint.fixed_ip ? ", refused when it is taken" : ", else Docker picks one");
}

std::string port_plan_text(const docker::PublishedPort& port) {
  return "port " + docker::describe(port) + " -> " + port.container_port + "/" + port.protocol +
         ": published again at the destination; refused before the freeze when taken there";
}

}  // namespace dockmig::migrate
