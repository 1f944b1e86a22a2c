// Request bodies of the HTTP API, validated by hand-written checks rather than regexes:
// they run on untrusted input of any shape (the fuzzer's), so each is a bounded loop over
// a length-capped string. Fields a body may not have are refused by name, so a gateway's
// typo ("destnation") fails loudly instead of being ignored.
#include "agent/api_request.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "docker/image_reference.h"
#include "fleet/host_record.h"
#include "migrate/mounts.h"
#include "migrate/session.h"
#include "transfer/compression_level.h"

namespace dockmig::agent {
namespace {

using nlohmann::json;

constexpr size_t kMaxContainerRef = 128;
constexpr size_t kMaxImageRef = 255;
constexpr size_t kMaxDestination = 261;  // a 255-character host name, ":" and a port
constexpr size_t kMaxIdempotencyKey = 255;
constexpr size_t kMaxBindMappings = 64;
constexpr size_t kMaxBindMappingText = 8193;  // two paths of PATH_MAX and the `=`

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/// `text` for an error message: at most 64 characters, anything unprintable as `?`.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 64) out += "...";
  return "`" + out + "`";
}

Error invalid(const std::string& message, const std::string& hint = "see docs/api.md for the request bodies") {
  return make_error(ErrorCode::InvalidInput, message, hint);
}

Result<json> parse_object(std::string_view body, std::initializer_list<std::string_view> known) {
  if (body.size() > kMaxBodyBytes) return invalid("the body is larger than 64 KiB");
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return invalid("the body is not valid JSON");
  if (!parsed.is_object()) return invalid("the body must be a JSON object");
  for (const auto& [key, value] : parsed.items()) {
    bool listed = false;
    for (std::string_view name : known) listed = listed || key == name;
    if (!listed) {
      std::string names;
      for (std::string_view name : known) names += (names.empty() ? "" : ", ") + std::string(name);
      return invalid("unknown field " + shown(key), "the fields are: " + names);
    }
  }
  return parsed;
}

/// `object[key]` as a string: nullopt when absent, an error when it is another type.
Result<std::optional<std::string>> string_field(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return std::optional<std::string>();
  if (!found->is_string()) return invalid(std::string("`") + key + "` must be a string");
  return std::optional<std::string>(found->get<std::string>());
}

Status check_container(std::string_view text, const char* field) {
  if (!valid_container_ref(text))
    return invalid(std::string("`") + field + "` " + shown(text) + " is not a container name or id",
                   "names are 1 to 128 letters, digits, `_`, `.` and `-`, starting with a letter or digit");
  return {};
}

/// `options.zstd_level`: "auto" or an integer from 1 to 19.
Result<int> zstd_level_option(const json& value) {
  if (value.is_string() && value.get<std::string>() == "auto") return kZstdLevelAuto;
  if (value.is_number_integer()) {
    Result<int> level = transfer::parse_zstd_level(value.dump());
    if (level) return level;
  }
  return invalid("`options.zstd_level` must be \"auto\" or an integer from 1 to 19");
}

/// `options.bind_map`: a list of "SRC=DST" strings, as --bind-map takes them.
Result<std::vector<BindMapping>> bind_map_option(const json& value) {
  if (!value.is_array() || value.size() > kMaxBindMappings)
    return invalid("`options.bind_map` must be a list of at most " + std::to_string(kMaxBindMappings) +
                   " \"SRC=DST\" strings");
  std::vector<BindMapping> mappings;
  for (const json& item : value) {
    if (!item.is_string() || item.get<std::string>().size() > kMaxBindMappingText)
      return invalid("`options.bind_map` holds " + shown(item.dump()) + ", not a \"SRC=DST\" string");
    Result<BindMapping> mapping = migrate::parse_bind_mapping(item.get<std::string>());
    if (!mapping) return invalid("`options.bind_map`: " + mapping.error().message, mapping.error().hint);
    mappings.push_back(*mapping);
  }
  return mappings;
}

/// `options.copy_binds`: a list of paths, as --copy-bind takes them.
Result<std::vector<std::string>> copy_binds_option(const json& value) {
  if (!value.is_array() || value.size() > kMaxBindMappings)
    return invalid("`options.copy_binds` must be a list of at most " + std::to_string(kMaxBindMappings) + " paths");
  std::vector<std::string> sources;
  for (const json& item : value) {
    if (!item.is_string() || item.get<std::string>().size() > kMaxBindMappingText)
      return invalid("`options.copy_binds` holds " + shown(item.dump()) + ", not a path");
    Result<std::string> source = migrate::parse_copy_bind(item.get<std::string>());
    if (!source) return invalid("`options.copy_binds`: " + source.error().message, source.error().hint);
    sources.push_back(*source);
  }
  return sources;
}

Result<HandoffOptions> parse_options(const json& options) {
  HandoffOptions parsed;
  if (!options.is_object()) return invalid("`options` must be an object");
  for (const auto& [key, value] : options.items()) {
    if (key == "keep_source") {
      if (!value.is_boolean()) return invalid("`options.keep_source` must be true or false");
      parsed.keep_source = value.get<bool>();
    } else if (key == "target_name") {
      if (!value.is_string()) return invalid("`options.target_name` must be a string");
      parsed.target_name = value.get<std::string>();
      if (Status ok = check_container(parsed.target_name, "options.target_name"); !ok) return std::move(ok.error());
    } else if (key == "bind_map") {
      Result<std::vector<BindMapping>> mappings = bind_map_option(value);
      if (!mappings) return std::move(mappings.error());
      parsed.bind_map = std::move(*mappings);
    } else if (key == "copy_binds") {
      Result<std::vector<std::string>> sources = copy_binds_option(value);
      if (!sources) return std::move(sources.error());
      parsed.copy_binds = std::move(*sources);
    } else if (key == "tcp") {
      std::optional<TcpMode> tcp = value.is_string() ? parse_tcp_mode(value.get<std::string>()) : std::nullopt;
      if (!tcp) return invalid("`options.tcp` must be \"close\" or \"established\"");
      parsed.tcp = *tcp;
    } else if (key == "restore") {
      std::optional<RestoreMode> restore = value.is_string() ? parse_restore_mode(value.get<std::string>()) : std::nullopt;
      if (!restore) return invalid("`options.restore` must be \"auto\", \"eager\" or \"lazy\"",
                                   "auto restores lazily where it pays (docs/design.md, \"Lazy restore\")");
      parsed.restore = *restore;
    } else if (key == "zstd_level") {
      Result<int> level = zstd_level_option(value);
      if (!level) return std::move(level.error());
      parsed.zstd_level = *level;
    } else {
      return invalid("unknown option " + shown(key), "the options are: keep_source, target_name, zstd_level, bind_map, copy_binds, tcp, restore");
    }
  }
  return parsed;
}

}  // namespace

bool valid_container_ref(std::string_view text) {
  if (text.empty() || text.size() > kMaxContainerRef || !is_alnum(text.front())) return false;
  for (char c : text)
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

bool valid_image_ref(std::string_view text) {
  return text.size() <= kMaxImageRef && docker::parse_image_reference(text).has_value();
}

Status check_destination(std::string_view text) {
  if (text.empty() || text.size() > kMaxDestination)
    return invalid("`destination` must be ADDR:PORT of the destination's agent", "e.g. 10.77.1.2:7070");
  Result<migrate::Endpoint> endpoint = migrate::parse_endpoint(std::string(text));
  if (!endpoint || endpoint->host.empty())
    return invalid("`destination` " + shown(text) + " is not ADDR:PORT", "e.g. 10.77.1.2:7070");
  return {};
}

Status check_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKey)
    return invalid("the Idempotency-Key must be 1 to 255 characters", "e.g. a UUID the gateway makes per request");
  for (char c : key)
    if (c < 0x21 || c > 0x7e)
      return invalid("the Idempotency-Key must be visible ASCII characters", "e.g. a UUID the gateway makes per request");
  return {};
}

bool names_fleet_host(std::string_view destination) { return destination.find(':') == std::string_view::npos; }

bool valid_handoff_id(std::string_view id) {
  if (id.size() != 16) return false;
  for (char c : id)
    if (!is_hex(c)) return false;
  return true;
}

Result<HandoffSpec> parse_handoff_request(std::string_view body) {
  Result<json> object = parse_object(body, {"container", "destination", "options"});
  if (!object) return std::move(object.error());
  HandoffSpec spec;
  Result<std::optional<std::string>> container = string_field(*object, "container");
  if (!container) return std::move(container.error());
  if (!container->has_value()) return invalid("`container` is missing", "name the local container to hand off");
  spec.container = **container;
  if (Status ok = check_container(spec.container, "container"); !ok) return std::move(ok.error());
  Result<std::optional<std::string>> destination = string_field(*object, "destination");
  if (!destination) return std::move(destination.error());
  if (!destination->has_value()) return invalid("`destination` is missing", "give the destination agent as ADDR:PORT");
  spec.destination = **destination;
  if (Status ok = check_destination(spec.destination); !ok) return std::move(ok.error());
  if (object->contains("options")) {
    Result<HandoffOptions> options = parse_options((*object)["options"]);
    if (!options) return std::move(options.error());
    spec.options = std::move(*options);
  }
  return spec;
}

namespace {

// An IPv4 address alone is a forgotten port, not a host's fleet name.
bool looks_like_ipv4(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

Status check_prepare_destination(std::string_view text) {
  if (!names_fleet_host(text)) return check_destination(text);
  if (looks_like_ipv4(text)) return invalid("`destination` " + shown(text) + " has no port", "e.g. 10.77.1.2:7070");
  if (fleet::check_host_name(text)) return {};
  return invalid("`destination` " + shown(text) + " is neither ADDR:PORT nor a fleet host's name",
                 "e.g. 10.77.1.2:7070, or edge-b (`dockmig fleet ls`)");
}

/// `destination` (one) or `destinations` (a list of 1 to kMaxPrepareDestinations).
Status read_destinations(const json& object, PrepareSpec& spec) {
  bool one = object.contains("destination"), many = object.contains("destinations");
  if (one == many)
    return invalid("give exactly one of `destination` and `destinations`",
                   "`destinations` lists the likely next hosts: their agents' ADDR:PORT, or fleet names");
  if (one) {
    Result<std::optional<std::string>> destination = string_field(object, "destination");
    if (!destination) return std::move(destination.error());
    spec.destinations = {**destination};
  } else {
    const json& list = object["destinations"];
    if (!list.is_array() || list.empty() || list.size() > kMaxPrepareDestinations)
      return invalid("`destinations` must be a list of 1 to " + std::to_string(kMaxPrepareDestinations) +
                     " ADDR:PORT or fleet host name strings");
    for (const json& item : list) {
      if (!item.is_string())
        return invalid("`destinations` holds " + shown(item.dump()) + ", not ADDR:PORT or a host name");
      spec.destinations.push_back(item.get<std::string>());
    }
    spec.listed = true;
  }
  for (const std::string& destination : spec.destinations)
    if (Status ok = check_prepare_destination(destination); !ok) return ok;
  for (size_t i = 0; i < spec.destinations.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (spec.destinations[i] == spec.destinations[j])
        return invalid("`destinations` names " + shown(spec.destinations[i]) + " twice");
  return {};
}

Status read_prepared_thing(const json& object, PrepareSpec& spec) {
  Result<std::optional<std::string>> image = string_field(object, "image");
  if (!image) return std::move(image.error());
  Result<std::optional<std::string>> container = string_field(object, "container");
  if (!container) return std::move(container.error());
  if (image->has_value() == container->has_value())
    return invalid("give exactly one of `image` and `container`",
                   "`image` warms the image only; `container` also presyncs its writable layer");
  if (container->has_value()) {
    spec.container = **container;
    return check_container(spec.container, "container");
  }
  spec.image = **image;
  if (spec.image.size() > kMaxImageRef)
    return invalid("`image` " + shown(spec.image) + " is longer than 255 characters", "e.g. registry:5000/app:1");
  Result<docker::ImageReference> reference = docker::parse_image_reference(spec.image);
  if (!reference)
    return invalid("`image` " + shown(spec.image) + " is " + reference.error().message, reference.error().hint);
  return {};
}

/// A string field the body must have.
Result<std::string> required_string(const json& object, const char* key, const std::string& hint) {
  Result<std::optional<std::string>> value = string_field(object, key);
  if (!value) return std::move(value.error());
  if (!value->has_value()) return invalid(std::string("`") + key + "` is missing", hint);
  return **value;
}

}  // namespace

Result<PrepareSpec> parse_prepare_request(std::string_view body) {
  Result<json> object = parse_object(body, {"image", "container", "destination", "destinations"});
  if (!object) return std::move(object.error());
  PrepareSpec spec;
  if (Status read = read_prepared_thing(*object, spec); !read) return std::move(read.error());
  if (Status read = read_destinations(*object, spec); !read) return std::move(read.error());
  return spec;
}

Result<FleetHandoffSpec> parse_fleet_handoff_request(std::string_view body) {
  Result<json> object = parse_object(body, {"service", "to", "options"});
  if (!object) return std::move(object.error());
  FleetHandoffSpec spec;
  Result<std::string> service = required_string(*object, "service", "name the service (its container name)");
  if (!service) return std::move(service.error());
  spec.service = std::move(*service);
  if (Status ok = check_container(spec.service, "service"); !ok) return std::move(ok.error());
  Result<std::string> to = required_string(*object, "to", "name the destination host as the fleet does");
  if (!to) return std::move(to.error());
  spec.to = std::move(*to);
  if (spec.to.size() > kMaxContainerRef || !fleet::check_host_name(spec.to))
    return invalid("`to` " + shown(spec.to) + " is not a host name of the fleet",
                   "letters, digits, '.', '-' and '_' (`dockmig fleet ls`)");
  if (object->contains("options")) {
    Result<HandoffOptions> options = parse_options((*object)["options"]);
    if (!options) return std::move(options.error());
    spec.options = std::move(*options);
  }
  return spec;
}

nlohmann::json to_json(const HandoffSpec& spec) {
  json level = spec.options.zstd_level == kZstdLevelAuto ? json("auto") : json(spec.options.zstd_level);
  json options = {{"keep_source", spec.options.keep_source}, {"zstd_level", level}};
  if (!spec.options.target_name.empty()) options["target_name"] = spec.options.target_name;
  // Only when asked for: the canonical JSON of a request from before `tcp` stays the same.
  if (spec.options.tcp != TcpMode::Close) options["tcp"] = tcp_mode_name(spec.options.tcp);
  if (spec.options.restore != RestoreMode::Auto) options["restore"] = restore_mode_name(spec.options.restore);
  if (!spec.options.bind_map.empty()) {
    json mappings = json::array();
    for (const BindMapping& mapping : spec.options.bind_map) mappings.push_back(mapping.source + "=" + mapping.destination);
    options["bind_map"] = mappings;
  }
  if (!spec.options.copy_binds.empty()) options["copy_binds"] = spec.options.copy_binds;
  return {{"container", spec.container}, {"destination", spec.destination}, {"options", options}};
}

}  // namespace dockmig::agent
