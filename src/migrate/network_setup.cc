#include "migrate/network_setup.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "base/unique_fd.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

const json* host_config_of(const json& create) {
  return create.is_object() && create.contains("HostConfig") ? &create["HostConfig"] : nullptr;
}

std::vector<docker::PublishedPort> published_ports(const json& create) {
  const json* host = host_config_of(create);
  return host ? docker::parse_published_ports(*host) : std::vector<docker::PublishedPort>();
}

std::string network_mode_of(const json& create) {
  const json* host = host_config_of(create);
  return host && host->is_object() && host->value("NetworkMode", json()).is_string() ? (*host)["NetworkMode"].get<std::string>()
                                                                                     : "";
}

Result<std::vector<docker::NetworkFacts>> all_networks(const docker::EngineClient& engine) {
  Result<json> listed = engine.list_networks();
  if (!listed) return std::move(listed.error()).wrap("listing the destination's networks");
  std::vector<docker::NetworkFacts> all;
  for (const json& network : listed->is_array() ? *listed : json::array()) all.push_back(docker::parse_network(network));
  return all;
}

Result<std::optional<docker::NetworkFacts>> network_here(const docker::EngineClient& engine, const std::string& name) {
  Result<json> inspect = engine.inspect_network(name);
  if (!inspect && inspect.error().code == ErrorCode::NotFound) return std::optional<docker::NetworkFacts>();
  if (!inspect) return std::move(inspect.error()).wrap("reading network `" + name + "` at the destination");
  docker::NetworkFacts facts = docker::parse_network(*inspect);
  // dockerd finds a network by id prefix too: only one of this very name counts.
  if (facts.name != name) return std::optional<docker::NetworkFacts>();
  return std::optional<docker::NetworkFacts>(std::move(facts));
}

// The address `port` binds to, its length; 0 when its host address is malformed.
socklen_t socket_address(const docker::PublishedPort& port, sockaddr_storage& address) {
  if (port.host_ip.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port.host_port);
    return inet_pton(AF_INET6, port.host_ip.c_str(), &in6->sin6_addr) == 1 ? sizeof *in6 : 0;
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(port.host_port);
  if (port.host_ip.empty()) return sizeof *in4;
  return inet_pton(AF_INET, port.host_ip.c_str(), &in4->sin_addr) == 1 ? sizeof *in4 : 0;
}

}  // namespace

Status plan_networks(const docker::EngineClient& engine, const json& inspect, std::vector<NetworkSpec>& specs,
                     std::vector<std::string>& blockers) {
  for (docker::Endpoint& endpoint : docker::parse_endpoints(inspect)) {
    if (endpoint.network == docker::kDefaultBridge) continue;
    Result<json> network = engine.inspect_network(endpoint.network);
    if (!network) return std::move(network.error()).wrap("reading network `" + endpoint.network + "`");
    NetworkSpec spec{docker::parse_network(*network), std::move(endpoint)};
    spec.network.addresses.clear();
    if (std::string blocker = network_blocker(spec.network); !blocker.empty()) blockers.push_back(blocker);
    else specs.push_back(std::move(spec));
  }
  if (specs.size() > kMaxNetworks)
    blockers.push_back("it is on " + std::to_string(specs.size()) + " networks; dockmig moves containers on at most " +
                       std::to_string(kMaxNetworks));
  return {};
}

Status NetworkReceiver::check(const docker::EngineClient& engine, const json& create) {
  if (specs_.empty()) return check_ports(engine, create);
  std::string mode = network_mode_of(create);
  Result<std::vector<docker::NetworkFacts>> all = all_networks(engine);
  if (!all) return std::move(all.error());
  decisions_.clear();
  for (const NetworkSpec& spec : specs_) {
    Result<std::optional<docker::NetworkFacts>> here = network_here(engine, spec.network.name);
    if (!here) return std::move(here.error());
    NetworkDecision decision = decide_network(spec, *here, *all);
    if (!decision.refusal.empty())
      return make_error(ErrorCode::InvalidInput, "the container cannot move: " + decision.refusal,
                        "remove or rename that network on the destination, or migrate to another host");
    if (spec.network.name == mode) primary_ = mode;
    decisions_.push_back(decision);
  }
  return check_ports(engine, create);
}

Status NetworkReceiver::check_addresses_kept() const {
  std::string refusal = tcp_established_refusal(specs_, decisions_);
  if (refusal.empty()) return {};
  return make_error(ErrorCode::InvalidInput, "the container cannot move: " + refusal,
                    "free that address on the destination, or migrate with --tcp close (clients reconnect)");
}

std::vector<hostnet::HeldPort> ports_to_hold(const json& create) {
  std::vector<hostnet::HeldPort> held;
  for (const docker::PublishedPort& port : published_ports(create)) {
    bool ipv6 = port.host_ip.find(':') != std::string::npos;
    if (port.host_port == 0 || ipv6 || (port.protocol != "tcp" && port.protocol != "udp")) continue;
    hostnet::HeldPort hold{port.protocol, port.host_ip == "0.0.0.0" ? "" : port.host_ip, port.host_port};
    if (std::ranges::find(held, hold) == held.end()) held.push_back(std::move(hold));
  }
  return held;
}

Status NetworkReceiver::check_ports(const docker::EngineClient& engine, const json& create) const {
  std::vector<docker::PublishedPort> ports = published_ports(create);
  if (ports.empty()) return {};
  Result<json> running = engine.list_running_containers();
  if (!running) return std::move(running.error()).wrap("listing the destination's published ports");
  std::vector<docker::PortHolder> held = docker::ports_in_use(*running);
  for (const docker::PublishedPort& port : ports)
    if (std::string refusal = port_refusal(port, held, port.host_port ? try_bind(port) : 0); !refusal.empty())
      return make_error(ErrorCode::InvalidInput, "the container cannot move: " + refusal,
                        "free that port on the destination, or migrate to another host");
  return {};
}

Status NetworkReceiver::create_networks(const docker::EngineClient& engine, json& create,
                                        const std::function<Status(const std::string&)>& noted) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (!decisions_.at(i).create) continue;
    Result<std::string> made = engine.create_network(network_create_body(specs_[i]));
    if (!made) return std::move(made.error());
    created_.push_back(specs_[i].network.name);
    if (Status recorded = noted(specs_[i].network.name); !recorded) return recorded;
    spdlog::info("made network `{}` ({}) for the container", specs_[i].network.name, specs_[i].network.subnet);
  }
  if (create.is_object()) create.erase("NetworkingConfig");  // only what was decided here, never the peer's
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].network.name == primary_)
      create["NetworkingConfig"] = {{"EndpointsConfig", {{primary_, endpoint_config(specs_[i], decisions_[i].keep_ip)}}}};
  return {};
}

Status NetworkReceiver::connect_rest(const docker::EngineClient& engine, const std::string& container_id) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].network.name == primary_) continue;
    Status joined = engine.connect_network(specs_[i].network.name, container_id,
                                           endpoint_config(specs_[i], decisions_.at(i).keep_ip));
    if (!joined) return joined;
  }
  return {};
}

void NetworkReceiver::remove_created(const docker::EngineClient& engine) const {
  for (const std::string& name : created_) {
    Status removed = engine.remove_network(name);
    if (!removed) spdlog::warn("{}; remove network `{}` by hand", removed.error().describe(), name);
  }
}

int try_bind(const docker::PublishedPort& port) {
  sockaddr_storage address{};
  socklen_t length = socket_address(port, address);
  if (length == 0) return EADDRNOTAVAIL;
  int type = port.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  base::UniqueFd fd(socket(address.ss_family, type | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  int on = 1;  // a port whose last connection lingers in TIME_WAIT is free for a listener
  if (type == SOCK_STREAM) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) == 0 ? 0 : errno;
}

}  // namespace dockmig::migrate
