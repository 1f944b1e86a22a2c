// A running container's memory, read round after round for pre-copy: the first round
// all of it, later rounds what may have changed since. With write tracking
// (write_tracker.h) a later round reads only the pages written since the round before;
// without it, every round reads everything and the pages' hashes tell what changed.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dockmig/result.h"
#include "memory/process_memory.h"
#include "memory/write_tracker.h"

namespace dockmig::memory {

enum class Tracking { WriteProtect, PageHash };
std::string_view to_string(Tracking tracking);  // "uffd-wp", "page-hash"
/// The best this host offers: write tracking where the kernel has it.
Tracking best_tracking();

/// Pages of a container, process by process.
using ProcessPages = std::vector<std::pair<int, std::vector<PageRange>>>;

struct RoundRead {
  ScanStats scan;
  std::chrono::duration<double> longest_stop{};  // the longest any process was stopped
};

class ContainerMemory {
 public:
  ContainerMemory(int init_pid, Tracking tracking) : init_pid_(init_pid), tracking_(tracking) {}

  /// Visits the pages of this round (see above), process by process.
  Status read_round(const PageVisitor& visit, RoundRead& read);
  /// How many pages the next round would read, without reading or protecting any: known
  /// only while every process's writes are tracked.
  std::optional<uint64_t> pages_written_since() const;
  /// How the rounds found what changed: "uffd-wp", "page-hash", or "uffd-wp; page-hash for
  /// 1 of 3 processes: REASON" when some could not be tracked.
  std::string tracking_used() const;
  /// The pages written since the last round read them, where writes are tracked (the
  /// pages a freeze now would find changed, as far as tracking tells); nothing without
  /// tracking.
  ProcessPages written_since_last_round() const;
  // Tracking ends, the processes left as they were, when this object is destroyed.

 private:
  /// The tracker of `pid`, started if needed; null when it cannot be tracked.
  WriteTracker* tracker_of(int pid, RoundRead& read);

  int init_pid_;
  Tracking tracking_;
  std::map<int, WriteTracker> trackers_;
  std::map<int, std::string> untracked_;  // pid -> why not
  std::map<int, int> attempts_;
  size_t processes_seen_ = 0;
};

/// Visits the pages of `pages` that are in memory, process by process, without tracking
/// anything: for reading a container that is frozen.
Status read_pages(const ProcessPages& pages, const PageVisitor& visit, ScanStats& stats);

}  // namespace dockmig::memory
