#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// CRIU's own account of a `criu dump`, from the `stats-dump` image it writes at the end.
struct CriuDumpStats {
  double freezing_s = 0;  // stopping the tasks
  double frozen_s = 0;    // from frozen to the end of the dump; contains memdump and memwrite
  double memdump_s = 0;   // collecting the memory pages
  double memwrite_s = 0;  // writing them to the images
  uint64_t pages_scanned = 0;
  uint64_t pages_written = 0;
};

/// CRIU's own account of a `criu restore`, from its `stats-restore` image.
struct CriuRestoreStats {
  double forking_s = 0;
  double restore_s = 0;
  uint64_t pages_restored = 0;  // 0 when the CRIU that wrote it did not count them
};

/// One stats image holds one of the two, by which command wrote it.
struct CriuStats {
  std::optional<CriuDumpStats> dump;
  std::optional<CriuRestoreStats> restore;
};

inline constexpr const char* kCriuDumpStatsFile = "stats-dump";
inline constexpr const char* kCriuRestoreStatsFile = "stats-restore";

/// Decodes a whole stats image. Malformed, truncated or foreign bytes give an
/// InvalidInput error; nothing is read outside `image`.
Result<CriuStats> parse_criu_stats(std::span<const std::byte> image);

/// Read `dir`/stats-dump and `dir`/stats-restore. CRIU writes them into its work
/// directory (--work-dir), which is the images directory (-D) unless set apart.
Result<CriuDumpStats> read_dump_stats(const std::filesystem::path& dir);
Result<CriuRestoreStats> read_restore_stats(const std::filesystem::path& dir);

}  // namespace dockmig::checkpoint
