// Large files modified between presync and checkpoint travel as librsync deltas instead of
// whole: after presync the destination signs its copies of the large files and sends the
// signatures back (before the freeze); at finalsync the source sends, for each such file
// that changed, only the delta against that signature.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::migrate {

inline constexpr uint64_t kDeltaMinBytes = 4u << 20;

/// A file as it was when it was signed: a file written since (extracted, patched, renamed
/// into place) has another inode or ctime.
struct SignedStamp {
  uint64_t inode = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const SignedStamp&) const = default;
};
/// What the destination last signed of a tree, by path.
using SignedStamps = std::map<std::string, SignedStamp>;

/// Destination: signs into `signatures`, under the same relative path, each regular, singly
/// linked file of `upper` of at least kDeltaMinBytes whose stamp is not the one `signed_`
/// holds for it (so each of them when `signed_` is empty), and leaves in `signed_` the
/// stamps of all of them. Returns how many it signed.
Result<size_t> sign_large_files(const std::filesystem::path& upper, const std::filesystem::path& signatures,
                                SignedStamps& signed_);

struct DeltaEntry {
  std::string path;  // relative to the upper dir
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0;
};

/// Source: for each path of `modified` that has a signature and is still a regular,
/// singly linked file, writes its delta under `deltas`, and moves the path from
/// `modified` into the returned entries.
Result<std::vector<DeltaEntry>> make_deltas(const std::filesystem::path& upper,
                                            const std::filesystem::path& signatures,
                                            std::vector<std::string>& modified,
                                            const std::filesystem::path& deltas);

/// Destination: rebuilds each entry's file in `upper` from its delta under `deltas`, with
/// the entry's mode, owner and mtime, replacing the presync copy atomically.
Status apply_deltas(const std::filesystem::path& upper, const std::filesystem::path& deltas,
                    const std::vector<DeltaEntry>& entries);

}  // namespace dockmig::migrate
