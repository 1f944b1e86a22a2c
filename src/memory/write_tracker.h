// Which pages of a running process were written since the last look, without reading its
// memory: a userfaultfd in asynchronous write-protect mode (Linux 6.7+) and the
// PAGEMAP_SCAN ioctl, which reports the pages written since the last scan and protects
// them again in one call. A write to a protected page costs the process well under a
// microsecond and never waits for us. The userfaultfd is created inside the process (its
// memory is the one it tracks), taken out with pidfd_getfd and closed there again at
// once, so the process holds none: CRIU can dump it, and when our descriptor closes (or
// we die) the kernel ends the tracking and lifts every protection.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "dockmig/result.h"
#include "memory/process_memory.h"

namespace dockmig::memory {

/// Whether this host can track writes (kernel features, architecture); the reason if not.
Status write_tracking_supported();

class WriteTracker {
 public:
  /// Starts tracking `pid`: stops it for about a millisecond (`stopped` says how long). No
  /// page is protected until changed() first sees its range.
  static Result<WriteTracker> attach(int pid, std::chrono::duration<double>& stopped);

  /// The parts of `ranges` to read now: for ranges tracked since an earlier call, the pages
  /// written since (protected again); ranges new to the tracker (mapped since, or no longer
  /// tracked) are protected now and returned whole, and so, every time, are ranges the
  /// kernel will not track.
  std::vector<PageRange> changed(const std::vector<PageRange>& ranges);
  /// How many pages of `ranges` the next changed() would return, without protecting any
  /// again: ranges not under tracking count whole. Nothing if the kernel refuses the look.
  std::optional<uint64_t> pages_written(const std::vector<PageRange>& ranges) const;
  /// The pages of `ranges` under tracking written since the last changed(), left for the
  /// next changed() to return too; ranges not under tracking have none. Nothing if the
  /// kernel refuses the look.
  std::optional<std::vector<PageRange>> written_again(const std::vector<PageRange>& ranges) const;

 private:
  WriteTracker(base::UniqueFd uffd, base::UniqueFd pagemap) : uffd_(std::move(uffd)), pagemap_(std::move(pagemap)) {}
  bool tracked(const PageRange& range) const;
  /// Protects `range` and remembers it; false if the kernel refuses it.
  bool start_tracking(const PageRange& range);
  /// The written pages of a tracked range, protected again; false if it is not tracked
  /// after all (an exec, or a mapping replaced in place).
  bool collect_written(const PageRange& range, std::vector<PageRange>& out);
  /// The written pages of `ranges` without protecting them again; untracked ranges count
  /// whole when `untracked_whole`, else not at all.
  std::optional<std::vector<PageRange>> look(const std::vector<PageRange>& ranges, bool untracked_whole) const;

  base::UniqueFd uffd_;
  base::UniqueFd pagemap_;
  std::map<uint64_t, uint64_t> protected_;  // start -> end of the ranges under tracking
  std::set<std::pair<uint64_t, uint64_t>> refused_;
};

}  // namespace dockmig::memory
