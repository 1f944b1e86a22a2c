// What CRIU's own log says about where its time went. Its stats images count the frozen
// time and the memory, but not the time CRIU spends waiting for the tool that runs it:
// runc answers CRIU's "action scripts" notifications by running hooks, and at a restore
// through dockerd one of them is dockerd's network setup (libnetwork-setkey), a new
// dockerd process that configures the container's interfaces while CRIU waits.
#pragma once

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/criu_stats.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

struct CriuLogTimes {
  double seconds = 0;        // from CRIU's first log line to its last
  double hooks_seconds = 0;  // of that, waiting for the caller's answers to "Running ... scripts"
  std::optional<std::chrono::system_clock::time_point> ended_at;  // the log file's last write
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

/// The same for a log file (dump.log, restore.log), with the time it was last written.
Result<CriuLogTimes> read_criu_log_times(const std::filesystem::path& path);

/// The parts of a call to Docker that ran CRIU (a checkpoint, a start from one) before
/// CRIU began and after it ended: dockerd, containerd and runc setting up and winding
/// down. Nothing when the log's end is unknown or does not fall inside the call.
struct AroundCriu {
  double before_seconds = 0;
  double after_seconds = 0;
};
std::optional<AroundCriu> around_criu(const CriuLogTimes& log, std::chrono::system_clock::time_point call_started,
                                      std::chrono::system_clock::time_point call_ended);

/// Reads a log CRIU is still writing, from where the last call stopped, for two lines: the
/// first task seized (the container's tasks are frozen and stay so until the dump ends),
/// and the line CRIU writes last after a good dump (its images are complete and the tasks
/// killed then, while Docker's call that ran it may go on for a while). A log not yet made
/// is read as saying neither yet.
class DumpLogFollower {
 public:
  explicit DumpLogFollower(std::filesystem::path path) : path_(std::move(path)) {}
  /// Whether the log says the tasks are seized by now.
  bool tasks_seized();
  /// Whether the log says the dump finished by now.
  bool dump_finished();

 private:
  void read_new_lines();

  std::filesystem::path path_;
  std::uintmax_t offset_ = 0;
  std::string partial_line_;
  bool seized_ = false;
  bool finished_ = false;
};

}  // namespace dockmig::checkpoint
