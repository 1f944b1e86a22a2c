#pragma once

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

/// Runs a migration from this host (the source) to a destination agent, phase by phase.
/// The only place that decides between commit and rollback: the source container keeps
/// running, or is resumed from its checkpoint, unless the destination confirmed that the
/// restored copy runs.
MigrationOutcome run_migration(const MigrationRequest& request, Progress& progress);

}  // namespace dockmig::migrate
