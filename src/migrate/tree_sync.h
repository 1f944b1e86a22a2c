// A directory tree's two transfers, shared by a migration and a preparation: the whole
// tree, or what changed since a baseline (deleted paths, changed entries as a tar, large
// modified files as librsync deltas). After each, the destination signs its large files
// and sends the signatures back, so that the next transfer can send deltas: after a
// transfer of changes, when the source asks, only those of the files the transfer wrote
// (the source keeps the others from before). The trees are the writable layer
// (overlay2's UpperDir) and each volume's data.
#pragma once

#include <filesystem>
#include <string>

#include "dockmig/migration.h"
#include "layers/upper_snapshot.h"
#include "migrate/progress.h"
#include "migrate/session.h"
#include "migrate/upper_deltas.h"

namespace dockmig::migrate {

/// Where a side keeps what one transfer of a tree needs.
struct TreeSyncFiles {
  std::filesystem::path dir;   // the tree: the container's UpperDir, or a volume's _data
  std::filesystem::path work;  // private scratch of this tree: staged blobs, signatures, deltas
  int zstd_level = kZstdLevelAuto;  // or a fixed level (see Session::send_stream)
  /// The header message's type and its blobs' prefix (docs/protocol.md): "upper" or "volume".
  std::string tree = "upper";
  /// Source: after a transfer of changes, ask for the signatures of the files it wrote
  /// only, and keep the others' from the transfer before (volumes' catch-up passes).
  bool changed_signatures_only = false;
  /// Destination: what it signed of this tree last, so that it can sign only what it
  /// wrote since when the source asks; without it, it signs every large file each time.
  SignedStamps* signed_stamps = nullptr;
};

// Source side. Each returns once the destination has applied the transfer and the
// signatures of its large files are in files.work/"signatures".
Status send_whole_tree(Session& session, const TreeSyncFiles& files, PhaseReport& phase, Progress& progress);
Status send_tree_changes(Session& session, const TreeSyncFiles& files, const layers::UpperSnapshot& baseline,
                          const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress);

/// Destination, before a tree's first transfer, when it holds an older copy of it (a
/// volume the container left here, migrate/left_volumes.h): sends `<tree>-held`, its
/// listing (blob `<tree>-listing`) and the signatures of all its large files.
Status offer_held_tree(Session& session, const TreeSyncFiles& files);
/// Source: what offer_held_tree sent, the listing as a snapshot (inodes and ctimes 0), the
/// signatures into files.work/"signatures".
Result<layers::UpperSnapshot> receive_held_tree(Session& session, const TreeSyncFiles& files);
/// Source: the first transfer to a destination that offered `held`: what differs from it
/// by rsync's quick check (layers::quick_check_diff), large files as deltas.
Status send_tree_changes_to_held(Session& session, const TreeSyncFiles& files, const layers::UpperSnapshot& held,
                                 const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress);

/// Destination side, the counterpart of all three: applies the whole layer or the changes,
/// each blob only once its checksum is verified. With `then_sign` it answers with the
/// signatures (not after a finalsync, where the checkpoint follows instead).
Status receive_synced_tree(Session& session, const TreeSyncFiles& files, bool then_sign);

/// Source side of a finalsync's changes: like send_tree_changes, but the destination
/// answers nothing (the checkpoint follows on the same stream).
Status send_final_changes(Session& session, const TreeSyncFiles& files, const layers::UpperSnapshot& baseline,
                          const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress);

}  // namespace dockmig::migrate
