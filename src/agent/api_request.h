// The HTTP API's request bodies, parsed and validated before anything acts on them:
// container names and ids, destinations, image references, option values and
// Idempotency-Keys. Every refusal is an InvalidInput error naming the field and the rule,
// which the API answers as 400. Pure functions: unit-tested and fuzzed (tests/fuzz).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::agent {

/// Bodies above this are answered 413 before they are parsed.
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct HandoffOptions {
  bool keep_source = false;
  std::string target_name;  // name at the destination; "" = the same
  int zstd_level = kZstdLevelAuto;  // "auto" in JSON, or 1-19
  std::vector<BindMapping> bind_map;  // ["SRC=DST", ...] in JSON, as `--bind-map`
  std::vector<std::string> copy_binds;  // ["SRC", ...] in JSON, as `--copy-bind`
  TcpMode tcp = TcpMode::Close;       // "close" | "established" in JSON, as `--tcp`
  RestoreMode restore = RestoreMode::Auto;  // "eager" | "lazy" | "auto" in JSON, as `--restore`
};

/// A POST /v1/handoffs body: {"container", "destination", "options"?}.
struct HandoffSpec {
  std::string container;    // name or id on this host
  std::string destination;  // ADDR:PORT of the destination's agent
  HandoffOptions options;
  std::string destination_host;  // its name in the fleet, for a fleet handoff; a label
                                 // for messages, not part of the request's identity
};

/// At most this many destinations in one POST /v1/prepare.
inline constexpr size_t kMaxPrepareDestinations = 8;

/// A POST /v1/prepare body: {"image" | "container", "destination" | "destinations"}.
struct PrepareSpec {
  std::string image;
  std::string container;
  std::vector<std::string> destinations;  // each likely next host, warmed in parallel: its agent's
                                          // ADDR:PORT, or its fleet name (prepare_hosts.h)
  bool listed = false;                    // given as `destinations`: answered as a list
};

/// A POST /v1/fleet/handoff body: {"service", "to", "options"?} (docs/api.md, "The fleet").
struct FleetHandoffSpec {
  std::string service;  // the service's container name, as its ownership record has it
  std::string to;       // the destination host's name in the fleet
  HandoffOptions options;
};

Result<HandoffSpec> parse_handoff_request(std::string_view body);
Result<PrepareSpec> parse_prepare_request(std::string_view body);
Result<FleetHandoffSpec> parse_fleet_handoff_request(std::string_view body);

/// The canonical JSON of a spec: two requests are "the same" when these are equal.
nlohmann::json to_json(const HandoffSpec& spec);

/// A Docker container name or (full or short) id.
bool valid_container_ref(std::string_view text);
/// An image reference: [registry[:port]/]path[:tag][@sha256:digest].
bool valid_image_ref(std::string_view text);
/// ADDR:PORT with a host name, IPv4 or bracketed IPv6 address.
Status check_destination(std::string_view text);
/// 1 to 255 visible ASCII characters.
Status check_idempotency_key(std::string_view key);
/// A handoff id as the API makes them: 16 lowercase hex digits.
bool valid_handoff_id(std::string_view id);
/// A prepare destination without a port names a host of the fleet, not an agent's address.
bool names_fleet_host(std::string_view destination);

}  // namespace dockmig::agent
