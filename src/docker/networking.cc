#include "docker/networking.h"

#include <charconv>

namespace dockmig::docker {
namespace {

using nlohmann::json;

std::string text_of(const json& object, const char* key) {
  auto found = object.is_object() ? object.find(key) : object.end();
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

bool flag_of(const json& object, const char* key) {
  auto found = object.is_object() ? object.find(key) : object.end();
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

const json& object_of(const json& object, const char* key) {
  static const json kEmpty = json::object();
  auto found = object.is_object() ? object.find(key) : object.end();
  return found != object.end() && found->is_object() ? *found : kEmpty;
}

std::string without_prefix_length(const std::string& address) { return address.substr(0, address.find('/')); }

Endpoint parse_endpoint(const std::string& network, const json& settings, const std::string& short_id) {
  Endpoint endpoint{network, {}, text_of(settings, "IPAddress"), false};
  endpoint.fixed_ip = !text_of(object_of(settings, "IPAMConfig"), "IPv4Address").empty();
  auto aliases = settings.is_object() ? settings.find("Aliases") : settings.end();
  if (aliases != settings.end() && aliases->is_array())
    for (const json& alias : *aliases)
      if (alias.is_string() && alias != short_id) endpoint.aliases.push_back(alias.get<std::string>());
  return endpoint;
}

// The first IPv4 entry of IPAM.Config.
json ipv4_pool(const json& network) {
  auto ipam = object_of(network, "IPAM").find("Config");
  if (ipam == object_of(network, "IPAM").end() || !ipam->is_array()) return json::object();
  for (const json& pool : *ipam)
    if (text_of(pool, "Subnet").find('.') != std::string::npos) return pool;
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
  std::string short_id = text_of(inspect, "Id").substr(0, 12);
  std::string mode = text_of(object_of(inspect, "HostConfig"), "NetworkMode");
  for (const auto& [name, settings] : object_of(object_of(inspect, "NetworkSettings"), "Networks").items()) {
    Endpoint endpoint = parse_endpoint(name, settings, short_id);
    if (name == mode) endpoints.insert(endpoints.begin(), std::move(endpoint));
    else endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

NetworkFacts parse_network(const json& inspect) {
  NetworkFacts facts;
  facts.name = text_of(inspect, "Name");
  facts.driver = text_of(inspect, "Driver");
  json pool = ipv4_pool(inspect);
  facts.subnet = text_of(pool, "Subnet");
  facts.gateway = text_of(pool, "Gateway");
  facts.ipv6 = flag_of(inspect, "EnableIPv6");
  facts.internal = flag_of(inspect, "Internal");
  facts.attachable = flag_of(inspect, "Attachable");
  facts.options = object_of(inspect, "Options");
  facts.labels = object_of(inspect, "Labels");
  for (const auto& [id, container] : object_of(inspect, "Containers").items())
    if (std::string address = text_of(container, "IPv4Address"); !address.empty())
      facts.addresses.push_back(without_prefix_length(address));
  return facts;
}

std::vector<PublishedPort> parse_published_ports(const json& host_config) {
  std::vector<PublishedPort> ports;
  for (const auto& [key, bindings] : object_of(host_config, "PortBindings").items()) {
    size_t slash = key.find('/');
    std::string protocol = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    if (!bindings.is_array()) continue;
    for (const json& binding : bindings)
      ports.push_back({protocol, key.substr(0, slash), text_of(binding, "HostIp"), port_number(text_of(binding, "HostPort"))});
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
        held.push_back({static_cast<uint16_t>(port["PublicPort"].get<unsigned>()), text_of(port, "Type"), name});
  }
  return held;
}

}  // namespace dockmig::docker
