// What CRIU's own log says about where its time went. Its stats images count the frozen
// time and the memory, but not the time CRIU spends waiting for the tool that runs it:
// runc answers CRIU's "action scripts" notifications by running hooks, and at a restore
// through dockerd one of them is dockerd's network setup (libnetwork-setkey), a new
// dockerd process that configures the container's interfaces while CRIU waits.
#pragma once

#include <filesystem>
#include <string_view>

#include "checkpoint/criu_stats.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

struct CriuLogTimes {
  double seconds = 0;        // from CRIU's first log line to its last
  double hooks_seconds = 0;  // of that, waiting for the caller's answers to "Running ... scripts"
};

/// All CRIU says of one run: its log's times and its stats image.
struct CriuDumpTimes {
  CriuLogTimes log;
  CriuDumpStats stats;
};
struct CriuRestoreTimes {
  CriuLogTimes log;
  CriuRestoreStats stats;
};

/// Reads timestamps of a log written at CRIU's default verbosity for runc (each line
/// starts with "(SS.UUUUUU)", seconds since CRIU started).
CriuLogTimes parse_criu_log_times(std::string_view log);

/// The same for a log file (dump.log, restore.log).
Result<CriuLogTimes> read_criu_log_times(const std::filesystem::path& path);

}  // namespace dockmig::checkpoint
