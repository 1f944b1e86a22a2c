#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "docker/engine_client.h"
#include "dockmig/result.h"
#include "migrate/session.h"

namespace dockmig::migrate {

/// How each migration this agent received ended, so a source that lost the connection at
/// the last step can ask ("status") instead of guessing.
class MigrationLedger {
 public:
  void set(const std::string& id, const std::string& state);
  /// "active", "committed", "aborted", or "unknown".
  std::string get(const std::string& id) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> states_;
};

struct DestinationContext {
  const docker::EngineClient& engine;
  std::filesystem::path staging_root;  // blobs wait here until their checksum is verified
  MigrationLedger& ledger;
};

/// At agent start: removes the containers that migrations interrupted by the agent's death
/// had created (journaled under staging_root/incoming), and stale staged blobs.
Status recover_interrupted(const DestinationContext& context);

/// Serves one connection from a source: a migration, or a question about how one ended.
/// On any failure before the source commits, the container made here is removed. A peer
/// message of the wrong shape, or an exception, fails this session only; the peer is told
/// why (an Error frame) and the error is returned.
Status serve_session(Session& session, const DestinationContext& context);

}  // namespace dockmig::migrate
