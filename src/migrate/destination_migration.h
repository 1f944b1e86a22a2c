#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "docker/engine_client.h"
#include "dockmig/result.h"
#include "memory/return_cache.h"
#include "migrate/create_policy.h"
#include "migrate/destination_preflight.h"
#include "migrate/incoming_watch.h"
#include "migrate/ledger.h"
#include "migrate/left_volumes.h"
#include "migrate/ownership.h"
#include "migrate/session.h"
#include "migrate/warm_store.h"

namespace dockmig::migrate {

struct DestinationContext {
  const docker::EngineClient& engine;
  std::filesystem::path staging_root;  // blobs wait here until their checksum is verified
  MigrationLedger& ledger;
  CreatePolicy policy{};  // what this agent agrees to create; closed by default
  CriuReadiness* criu = nullptr;  // checked before the source freezes; null only in tests without CRIU
  std::filesystem::path memory_root{};  // pages staged here (a tmpfs) when it has room; empty: staging_root
  /// The fleet's ownership records (--etcd): a source in the fleet commits by this host's
  /// swap of the service's record; null: no fleet, and such a source is refused.
  const Ownership* ownership = nullptr;
  /// How long a preparation received here is kept unused (`serve --prepare-ttl`; a shorter
  /// one of its source wins).
  std::chrono::seconds prepare_ttl = kWarmTtl;
  /// The pages of containers that left this host (`<state_dir>/return-cache`); null: none.
  const memory::ReturnCache* return_cache = nullptr;
  /// Told each migration's phases and how it ended (the agent's metrics); null: nobody.
  IncomingWatch* watch = nullptr;
  /// The volumes containers left on this host (`<state_dir>/left-volumes.json`), named in
  /// a refusal of a volume that holds data, and forgotten once a container uses them here
  /// again; null: none.
  const LeftVolumes* left_volumes = nullptr;
};

/// Drops the preparations received here that outlived their time-to-live, with their
/// staged data. The agent calls it every few seconds.
void drop_expired_preparations(const DestinationContext& context);

/// At agent start, after the ledger's load: removes the containers that migrations
/// interrupted by the agent's death had created, and records those migrations as aborted
/// (a committed one's container is never touched); removes stale staged blobs. With a
/// fleet, an undecided migration whose service's record names this host is kept instead
/// (started from its checkpoint if it does not run) and ends committed.
Status recover_interrupted(const DestinationContext& context);

/// Serves one connection from a source: a migration, or a question about how one ended.
/// On any failure before the source commits, the container made here is removed. A peer
/// message of the wrong shape, or an exception, fails this session only; the peer is told
/// why (an Error frame) and the error is returned.
Status serve_session(Session& session, const DestinationContext& context);

}  // namespace dockmig::migrate
