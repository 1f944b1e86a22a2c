// The destination's restore, started while the frozen memory still crosses the link
// (restore_gate.h): Docker's start runs on a thread of its own and waits in CRIU, at the
// gate, until finish() opens it. Dropped without finish(), it fails the gate and waits
// for Docker's call to end, so no restore outlives it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "checkpoint/restore_gate.h"
#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// Why this host cannot start a restore before its memory is in, or "" when it can: the
/// gate's files and this agent's pid must mean the same to the CRIU that dockerd's
/// containerd runs (`dockerd` is its pid).
std::string early_restore_refusal(int dockerd);

class EarlyRestore {
 public:
  static Result<std::unique_ptr<EarlyRestore>> start(const docker::EngineClient& engine, const std::string& docker_root,
                                                     const std::string& container_id, const std::string& name,
                                                     TcpMode tcp);
  ~EarlyRestore();
  EarlyRestore(const EarlyRestore&) = delete;
  EarlyRestore& operator=(const EarlyRestore&) = delete;

  /// Opens the gate and waits for the restore: the container's inspect data, as
  /// restore_container returns it.
  Result<nlohmann::json> finish();
  std::chrono::system_clock::time_point call_started() const { return call_started_; }
  /// How long the restore ran before finish() opened its gate.
  double seconds_before_open() const { return std::chrono::duration<double>(opened_at_ - call_started_).count(); }

 private:
  explicit EarlyRestore(RestoreGate gate) : gate_(std::move(gate)) {}
  RestoreGate gate_;
  std::thread call_;
  std::optional<Result<nlohmann::json>> result_;
  std::chrono::system_clock::time_point call_started_, opened_at_;
};

}  // namespace dockmig::checkpoint
