#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "migrate/progress.h"

namespace dockmig::migrate {

struct MigrationOutcome {
  MigrationReport report;
  Status status;
  /// The source could neither be confirmed gone nor resumed: a person must look.
  bool needs_attention = false;
};

/// A request from another thread (a signal's) to stop a migration, and how far the
/// migration lets it reach. Until the checkpoint images start to cross, the request cuts
/// the link to the destination, so the migration fails at once and ends as any failure
/// does: the source keeps running, or is resumed from its checkpoint. From then on the
/// destination may start its copy, so the request is only recorded and the migration runs
/// to the destination's decision.
class Interruption {
 public:
  /// Stopping: the migration ends soon, the source running. Finishing: it runs on to the
  /// destination's decision. Repeated: a request came before; this one changes nothing.
  enum class Effect { Stopping, Finishing, Repeated };

  /// Records `signal` (the first one only); cuts the link when the migration still allows it.
  Effect request(int signal);
  /// The first signal requested, 0 when none was.
  int signal() const;
  /// "SIGINT", "SIGTERM", ...: the first signal requested.
  std::string signal_name() const;

  /// From the migration: `cut` may now be called (at once, when a request came first).
  void allow_cut(std::function<void()> cut);
  /// From the migration: the link must no longer be cut; returns once no cut is running.
  void forbid_cut();

 private:
  mutable std::mutex mutex_;
  int signal_ = 0;
  std::function<void()> cut_;
  bool cut_forbidden_ = false;
};

/// Runs a migration from this host (the source) to a destination agent, phase by phase.
/// The only place that decides between commit and rollback: the source container keeps
/// running, or is resumed from its checkpoint, unless the destination confirmed that the
/// restored copy runs. Never throws: an exception counts as a failure of its phase.
MigrationOutcome run_migration(const MigrationRequest& request, Progress& progress);
/// The same, stoppable by `interruption` (see Interruption).
MigrationOutcome run_migration(const MigrationRequest& request, Progress& progress, Interruption& interruption);

}  // namespace dockmig::migrate
