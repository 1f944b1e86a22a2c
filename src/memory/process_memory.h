// A running container's memory, read from outside while it runs: the pages a CRIU dump
// would carry, found through /proc/PID/maps and /proc/PID/pagemap and copied with
// process_vm_readv. Nothing is stopped or changed in the container.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dockmig/result.h"
#include "memory/page.h"

namespace dockmig::memory {

struct PageAddress {
  int pid = 0;
  uint64_t vaddr = 0;
};

struct ScanStats {
  uint64_t processes = 0;
  uint64_t pages_read = 0;
  uint64_t pages_skipped = 0;  // left out by the caller's SkipPages
};

using PageVisitor = std::function<Status(const PageAddress&, PageView)>;

/// The processes (not threads) in the pid namespace of `init_pid`, `init_pid` first: a
/// container's processes as CRIU dumps them.
Result<std::vector<int>> namespace_processes(int init_pid);
/// A thread of process `pid` through which its memory can be read and system calls run:
/// the main thread, or another when the main thread has exited (its pid then names a
/// zombie without memory). `pid` itself when no thread runs.
int live_thread(int pid);
/// Whether `pid` is in the caller's own pid namespace (then it is no container's process).
bool in_our_pid_namespace(int pid);

struct MapsRegion {
  uint64_t start = 0, end = 0;
  bool readable = false, shared = false;
  std::string path;
};
/// One line of /proc/PID/maps; exposed for tests.
std::optional<MapsRegion> parse_maps_line(const std::string& line);

/// Which pages of a region CRIU dumps: none, all present ones, or only those that are not
/// the file's own (copied on write). Exposed for tests.
enum class RegionPages { None, All, AnonymousOnly };
RegionPages pages_to_dump(const MapsRegion& region);

/// Part of a process's memory, and which of its pages a dump carries.
struct PageRange {
  uint64_t start = 0, end = 0;
  RegionPages pages = RegionPages::All;
  bool operator==(const PageRange&) const = default;
};

/// How many pages `ranges` span.
uint64_t page_count(const std::vector<PageRange>& ranges);

/// The mappings of `pid` whose pages CRIU would dump: private anonymous memory,
/// copied-on-write pages of private file mappings, shared anonymous memory. Empty when the
/// process has exited.
std::vector<PageRange> dumpable_ranges(int pid);

/// Which pages of `batch`, a part of a range about to be read, to leave out.
using SkipPages = std::function<std::vector<PageRange>(const PageRange& batch)>;

/// Visits each page of `ranges` of `pid` that is in memory or swap and that CRIU would
/// dump, except those `skip` names. A process that exits meanwhile ends its walk quietly;
/// a page that cannot be read is skipped (the freeze sends it).
Status read_process_ranges(int pid, const std::vector<PageRange>& ranges, const PageVisitor& visit,
                           ScanStats& stats, const SkipPages& skip = {});

}  // namespace dockmig::memory
