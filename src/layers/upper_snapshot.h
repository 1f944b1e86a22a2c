// What an upper directory holds at one moment, to send only what changed since presync.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::layers {

struct EntryStamp {
  uint32_t mode = 0;  // st_mode: type and permissions
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t inode = 0;
  bool operator==(const EntryStamp&) const = default;
};

struct UpperSnapshot {
  std::map<std::string, EntryStamp> entries;  // by path relative to the directory
  uint64_t total_bytes() const;
  uint64_t file_count() const;  // non-directories
};

/// Walks `dir` without following symlinks. A missing directory is an error.
Result<UpperSnapshot> scan_upper_dir(const std::filesystem::path& dir);

struct UpperChanges {
  std::vector<std::string> added, modified, deleted;  // sorted
};

/// Entries of `after` not in `before` are added; in both with a different stamp,
/// modified (ctime catches content and xattr changes); only in `before`, deleted.
UpperChanges diff_snapshots(const UpperSnapshot& before, const UpperSnapshot& after);

/// Like diff_snapshots, for a `before` that another host listed (its inodes and ctimes
/// are not ours): an entry is modified when its type, mode, owner, size or mtime differ,
/// rsync's quick check. Whole seconds of the mtime: a tree that crossed as a tar (pax
/// restricted, upper_tar.h) has its files' mtimes in whole seconds on the other side.
UpperChanges quick_check_diff(const UpperSnapshot& before, const UpperSnapshot& after);

}  // namespace dockmig::layers
