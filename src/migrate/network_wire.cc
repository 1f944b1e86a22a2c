// The prepare message's `networks` (docs/protocol.md): written by the source, read by the
// destination as a hostile peer may have written it.
#include <regex>

#include "migrate/networks.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

constexpr size_t kMaxAliases = 32;

bool valid_name(const std::string& name) {
  static const std::regex kName("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}");
  return std::regex_match(name, kName);
}

Status check_spec(const NetworkSpec& spec) {
  const std::string& name = spec.network.name;
  if (!valid_name(name)) return make_error(ErrorCode::InvalidInput, "protocol: network name `" + name.substr(0, 80) + "` is malformed");
  if (name == docker::kDefaultBridge || name == "host" || name == "none")
    return make_error(ErrorCode::InvalidInput, "protocol: network `" + name + "` is not a user-defined one");
  if (std::string blocker = network_blocker(spec.network); !blocker.empty())
    return make_error(ErrorCode::InvalidInput, "protocol: the container cannot move: " + blocker);
  if (Status labels = all_strings(spec.network.labels, "label of network " + name); !labels) return labels;
  if (spec.endpoint.aliases.size() > kMaxAliases)
    return make_error(ErrorCode::InvalidInput, "protocol: network `" + name + "` lists more than " +
                                                   std::to_string(kMaxAliases) + " aliases");
  for (const std::string& alias : spec.endpoint.aliases)
    if (!valid_name(alias)) return make_error(ErrorCode::InvalidInput, "protocol: alias `" + alias.substr(0, 80) + "` is malformed");
  bool address_fits = spec.endpoint.ipv4.empty() || subnets_overlap(spec.endpoint.ipv4 + "/32", spec.network.subnet);
  if (!address_fits)
    return make_error(ErrorCode::InvalidInput, "protocol: address `" + spec.endpoint.ipv4.substr(0, 40) +
                                                   "` is not in network `" + name + "`'s subnet");
  return {};
}

Result<NetworkSpec> read_spec(const json& entry, size_t index) {
  PeerMessage fields(entry, "networks[" + std::to_string(index) + "] of the `prepare` message");
  NetworkSpec spec;
  docker::NetworkFacts& network = spec.network;
  network.name = fields.string("name");
  network.driver = fields.string("driver");
  network.subnet = fields.string("subnet");
  network.gateway = fields.string_or("gateway", "");
  network.internal = fields.boolean_or("internal", false);
  network.attachable = fields.boolean_or("attachable", false);
  network.options = fields.object_or_empty("options");
  network.labels = fields.object_or_empty("labels");
  spec.endpoint = {network.name, fields.strings_or_empty("aliases"), fields.string_or("ipv4", ""),
                   fields.boolean_or("fixed_ip", false)};
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (Status checked = check_spec(spec); !checked) return std::move(checked.error());
  return spec;
}

}  // namespace

json network_specs_json(const std::vector<NetworkSpec>& specs) {
  json list = json::array();
  for (const NetworkSpec& spec : specs) {
    const docker::NetworkFacts& network = spec.network;
    list.push_back({{"name", network.name},         {"driver", network.driver},
                    {"subnet", network.subnet},     {"gateway", network.gateway},
                    {"internal", network.internal}, {"attachable", network.attachable},
                    {"options", network.options},   {"labels", network.labels},
                    {"aliases", spec.endpoint.aliases}, {"ipv4", spec.endpoint.ipv4},
                    {"fixed_ip", spec.endpoint.fixed_ip}});
  }
  return list;
}

Result<std::vector<NetworkSpec>> read_network_specs(PeerMessage& prepare) {
  return read_named_list<NetworkSpec>(prepare, "networks", kMaxNetworks, "networks", read_spec,
                                      [](const NetworkSpec& spec) { return spec.network.name; });
}

}  // namespace dockmig::migrate
