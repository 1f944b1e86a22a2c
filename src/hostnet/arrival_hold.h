// Packets that reach a container's published ports while it is being restored wait in
// the kernel instead of meeting a closed port: a rule in iptables' raw table hands them
// to an NFQUEUE this process holds, and they go on, through the port mapping Docker has
// made by then, once the container runs (docs/design.md, "Clients that arrive during the
// restore").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "dockmig/result.h"

namespace dockmig::hostnet {

struct HeldPort {
  std::string protocol;  // "tcp" or "udp"
  std::string host_ip;   // IPv4; empty for any of this host's own addresses
  uint16_t port = 0;
  bool operator==(const HeldPort&) const = default;
};

class ArrivalHold {
 public:
  /// Holds what arrives for `ports` from now on; `owner` (a migration id) names the rules.
  /// Needs CAP_NET_ADMIN and iptables on PATH.
  static Result<std::unique_ptr<ArrivalHold>> start(const std::string& owner, const std::vector<HeldPort>& ports);

  ArrivalHold(const ArrivalHold&) = delete;
  ArrivalHold& operator=(const ArrivalHold&) = delete;
  ~ArrivalHold();

  /// Lets every held packet go on and holds no more; returns how many it held. A packet
  /// the kernel could not queue (4096 waiting already) went on unheld.
  uint64_t release();

 private:
  ArrivalHold(base::UniqueFd socket, uint16_t queue) : socket_(std::move(socket)), queue_(queue) {}
  Status add_rules(const std::string& owner, const std::vector<HeldPort>& ports);
  void accept_waiting();

  base::UniqueFd socket_;
  uint16_t queue_;
  std::vector<std::vector<std::string>> rules_;
  uint32_t last_id_ = 0;   // the newest packet queued
  uint32_t accepted_ = 0;  // the newest packet let go
  uint64_t held_ = 0;
};

/// Removes the rules of holds whose agent was killed; its queue went with it, and until
/// now the rules let packets pass (--queue-bypass).
Status drop_stale_holds();

}  // namespace dockmig::hostnet
