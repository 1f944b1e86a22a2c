// The networks and ports of a migration against real dockerds: the source reads what its
// container is on (make_plan); the destination decides before the source freezes anything
// and sets the networks up around the container's create (networks.h decides).
#pragma once

#include <string>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/engine_client.h"
#include "docker/networking.h"
#include "dockmig/result.h"
#include "hostnet/arrival_hold.h"
#include "migrate/networks.h"

namespace dockmig::migrate {

/// Source side: the user-defined networks of the container whose inspect is `inspect`, and
/// a blocker for each that cannot move.
Status plan_networks(const docker::EngineClient& engine, const nlohmann::json& inspect, std::vector<NetworkSpec>& specs,
                     std::vector<std::string>& blockers);

/// Destination side, from the prepare on.
class NetworkReceiver {
 public:
  explicit NetworkReceiver(std::vector<NetworkSpec> specs) : specs_(std::move(specs)) {}

  /// Before anything is made here: decides each network and refuses (InvalidInput, naming
  /// it) a network or a published port of `create` that cannot be had here.
  Status check(const docker::EngineClient& engine, const nlohmann::json& create);
  /// After check(): refuses (InvalidInput) when an address of the container is not kept here.
  Status check_addresses_kept() const;
  /// Makes the missing networks, and puts the container's endpoint on the network of its
  /// NetworkMode into `create` (Docker 20.10 takes one network at create).
  /// `noted` records each network made, right after it was (the ledger).
  Status create_networks(const docker::EngineClient& engine, nlohmann::json& create,
                         const std::function<Status(const std::string&)>& noted);
  /// Connects the created container to its other networks, before it starts.
  Status connect_rest(const docker::EngineClient& engine, const std::string& container_id) const;
  /// After a failure: removes the networks this migration made, best effort.
  void remove_created(const docker::EngineClient& engine) const;

 private:
  Status check_ports(const docker::EngineClient& engine, const nlohmann::json& create) const;

  std::vector<NetworkSpec> specs_;
  std::vector<NetworkDecision> decisions_;  // by spec, once checked
  std::string primary_;                     // the network of the create's NetworkMode, if one of specs_
  std::vector<std::string> created_;
};

/// The published ports of `create` whose arrivals the destination can hold during the
/// restore: fixed host ports of TCP or UDP, on every address or one IPv4 address.
std::vector<hostnet::HeldPort> ports_to_hold(const nlohmann::json& create);

/// The errno of binding `port` on this host now (0: it bound, and was let go at once).
int try_bind(const docker::PublishedPort& port);

}  // namespace dockmig::migrate
