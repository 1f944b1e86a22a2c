// What the API's fleet routes (GET /v1/fleet/hosts, /v1/fleet/services/NAME,
// /v1/fleet/watch, POST /v1/fleet/handoff) need from the fleet: etcd in the agent, a fake in tests.
#pragma once

#include <string>
#include <vector>

#include "dockmig/result.h"
#include "etcd/client.h"
#include "fleet/handoff_route.h"
#include "fleet/host_record.h"
#include "fleet/ownership_watch.h"

namespace dockmig::agent {

class FleetBackend {
 public:
  virtual ~FleetBackend() = default;
  /// This agent's name in the fleet.
  virtual const std::string& self() const = 0;
  virtual Result<std::vector<fleet::HostRecord>> hosts() const = 0;
  virtual Result<fleet::ServiceLocation> service(const std::string& name) const = 0;
  virtual Result<fleet::HandoffRoute> route(const std::string& service, const std::string& to) const = 0;
  /// As fleet::follow_ownership: the owners now (or nothing, after a revision), then each
  /// change, until `stop`. Blocks.
  virtual Status follow(const fleet::FollowRequest& request, const fleet::OwnershipHandler& on_changes,
                        std::stop_token stop) const = 0;
};

/// The fleet as etcd holds it.
class EtcdFleet final : public FleetBackend {
 public:
  EtcdFleet(etcd::Client etcd, std::string self) : etcd_(std::move(etcd)), self_(std::move(self)) {}
  const std::string& self() const override { return self_; }
  Result<std::vector<fleet::HostRecord>> hosts() const override { return fleet::list_hosts(etcd_); }
  Result<fleet::ServiceLocation> service(const std::string& name) const override {
    return fleet::locate_service(etcd_, name);
  }
  Result<fleet::HandoffRoute> route(const std::string& service, const std::string& to) const override {
    return fleet::route_handoff(etcd_, service, to);
  }
  Status follow(const fleet::FollowRequest& request, const fleet::OwnershipHandler& on_changes,
                std::stop_token stop) const override {
    return fleet::follow_ownership(etcd_, request, on_changes, std::move(stop));
  }

 private:
  etcd::Client etcd_;
  std::string self_;
};

}  // namespace dockmig::agent
