// The writable layer's two transfers, shared by a migration and a preparation: the whole
// layer, or what changed since a baseline (deleted paths, changed entries as a tar, large
// modified files as librsync deltas). After each, the destination signs its large files
// and sends the signatures back, so that the next transfer can send deltas.
#pragma once

#include <filesystem>

#include "dockmig/migration.h"
#include "layers/upper_snapshot.h"
#include "migrate/progress.h"
#include "migrate/session.h"

namespace dockmig::migrate {

/// Where a side keeps what one transfer of the writable layer needs.
struct UpperSyncFiles {
  std::filesystem::path upper;  // the container's overlay2 UpperDir
  std::filesystem::path work;   // private scratch: staged blobs, signatures, deltas
  int zstd_level = kZstdLevelAuto;  // or a fixed level (see Session::send_stream)
};

// Source side. Each returns once the destination has applied the transfer and the
// signatures of its large files are in files.work/"signatures".
Status send_whole_upper(Session& session, const UpperSyncFiles& files, PhaseReport& phase, Progress& progress);
Status send_upper_changes(Session& session, const UpperSyncFiles& files, const layers::UpperSnapshot& baseline,
                          const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress);

/// Destination side, the counterpart of all three: applies the whole layer or the changes,
/// each blob only once its checksum is verified. With `then_sign` it answers with the
/// signatures (not after a finalsync, where the checkpoint follows instead).
Status receive_upper(Session& session, const UpperSyncFiles& files, bool then_sign);

/// Source side of a finalsync's changes: like send_upper_changes, but the destination
/// answers nothing (the checkpoint follows on the same stream).
Status send_final_changes(Session& session, const UpperSyncFiles& files, const layers::UpperSnapshot& baseline,
                          const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress);

}  // namespace dockmig::migrate
