#include "docker/networking.h"

#include <charconv>

#include "base/json_fields.h"

namespace dockmig::docker {
namespace {

using nlohmann::json;

std::string without_prefix_length(const std::string& address) { return address.substr(0, address.find('/')); }

Endpoint parse_endpoint(const std::string& network, const json& settings, const std::string& short_id) {
  Endpoint endpoint{network, {}, string_field(settings, "IPAddress"), false};
  endpoint.fixed_ip = !string_field(object_field(settings, "IPAMConfig"), "IPv4Address").empty();
  auto aliases = settings.is_object() ? settings.find("Aliases") : settings.end();
  if (aliases != settings.end() && aliases->is_array())
    for (const json& alias : *aliases)
      if (alias.is_string() && alias != short_id) endpoint.aliases.push_back(alias.get<std::string>());
  return endpoint;
}

// The first IPv4 entry of IPAM.Config.
json ipv4_pool(const json& network) {
  auto ipam = object_field(network, "IPAM").find("Config");
  if (ipam == object_field(network, "IPAM").end() || !ipam->is_array()) return json::object();
  for (const json& pool : *ipam)
    if (string_field(pool, "Subnet").find('.') != std::string::npos) return pool;
  return json::object();
}

uint16_t port_number(const std::string& text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value <= 65535 ? static_cast<uint16_t>(value) : 0;
}

}  // namespace

std::vector<Endpoint> parse_endpoints(const json& inspect) {
  std::vector<Endpoint> endpoints;
  std::string short_id = string_field(inspect, "Id").substr(0, 12);
  std::string mode = string_field(object_field(inspect, "HostConfig"), "NetworkMode");
  for (const auto& [name, settings] : object_field(object_field(inspect, "NetworkSettings"), "Networks").items()) {
    Endpoint endpoint = parse_endpoint(name, settings, short_id);
    if (name == mode) endpoints.insert(endpoints.begin(), std::move(endpoint));
    else endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

NetworkFacts parse_network(const json& inspect) {
  NetworkFacts facts;
  facts.name = string_field(inspect, "Name");
  facts.driver = string_field(inspect, "Driver");
  json pool = ipv4_pool(inspect);
  facts.subnet = string_field(pool, "Subnet");
  facts.gateway = string_field(pool, "Gateway");
  facts.ipv6 = flag_field(inspect, "EnableIPv6");
  facts.internal = flag_field(inspect, "Internal");
  facts.attachable = flag_field(inspect, "Attachable");
  facts.options = object_field(inspect, "Options");
  facts.labels = object_field(inspect, "Labels");
  for (const auto& [id, container] : object_field(inspect, "Containers").items())
    if (std::string address = string_field(container, "IPv4Address"); !address.empty())
      facts.addresses.push_back(without_prefix_length(address));
  return facts;
}

std::vector<PublishedPort> parse_published_ports(const json& host_config) {
  std::vector<PublishedPort> ports;
  for (const auto& [key, bindings] : object_field(host_config, "PortBindings").items()) {
    size_t slash = key.find('/');
    std::string protocol = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    if (!bindings.is_array()) continue;
    for (const json& binding : bindings)
      ports.push_back({protocol, key.substr(0, slash), string_field(binding, "HostIp"), port_number(string_field(binding, "HostPort"))});
  }
  return ports;
}

std::string describe(const PublishedPort& port) {
  return (port.host_ip.empty() ? "" : port.host_ip + ":") + std::to_string(port.host_port) + "/" + port.protocol;
}

std::vector<PortHolder> ports_in_use(const json& running) {
  std::vector<PortHolder> held;
  if (!running.is_array()) return held;
  for (const json& container : running) {
    auto names = container.is_object() ? container.find("Names") : container.end();
    std::string name = names != container.end() && names->is_array() && !names->empty() && (*names)[0].is_string()
                           ? (*names)[0].get<std::string>() : "?";
    if (name.starts_with('/')) name.erase(0, 1);
    auto ports = container.is_object() ? container.find("Ports") : container.end();
    if (ports == container.end() || !ports->is_array()) continue;
    for (const json& port : *ports)
      if (port.is_object() && port.value("PublicPort", json()).is_number_unsigned())
        held.push_back({static_cast<uint16_t>(port["PublicPort"].get<unsigned>()), string_field(port, "Type"), name});
  }
  return held;
}

}  // namespace dockmig::docker
