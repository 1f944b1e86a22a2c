#include "memory/process_memory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "base/proc_status.h"
#include "base/unique_fd.h"

namespace dockmig::memory {
namespace {

constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kSwapped = 1ull << 62;
constexpr uint64_t kFileOrShared = 1ull << 61;
constexpr size_t kBatchPages = 256;  // 1 MiB read per process_vm_readv

std::optional<ino_t> pid_namespace(int pid) {
  struct stat st{};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_ino;
}

// pagemap reports a userfaultfd write-protect marker, which pre-copy's own tracking puts on
// each page not yet populated, as a swap entry. Without swap, a "swapped" page is such a
// marker: it holds nothing CRIU would dump, and reading it would fault in file pages (the
// binaries' and libraries') only to send them.
bool swap_in_use() {
  static const bool in_use = [] {
    std::ifstream swaps("/proc/swaps");
    std::string line;
    std::getline(swaps, line);  // the header
    return static_cast<bool>(std::getline(swaps, line));
  }();
  return in_use;
}

bool wanted(uint64_t entry, RegionPages which) {
  if (!(entry & (swap_in_use() ? kPresent | kSwapped : kPresent))) return false;
  return which == RegionPages::All || !(entry & kFileOrShared);
}

// Copies pages [first, first+count) of the region; the pages read whole are visited.
Status read_run(int pid, uint64_t first, size_t count, std::vector<std::byte>& buffer, const PageVisitor& visit,
                ScanStats& stats) {
  iovec local{buffer.data(), count * kPageSize};
  iovec remote{reinterpret_cast<void*>(first), count * kPageSize};
  ssize_t got = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (got <= 0) return {};  // gone, or unmapped meanwhile: the freeze sends it
  size_t pages = static_cast<size_t>(got) / kPageSize;
  for (size_t i = 0; i < pages; ++i) {
    PageView page(buffer.data() + i * kPageSize, kPageSize);
    Status visited = visit({pid, first + i * kPageSize}, page);
    if (!visited) return visited;
  }
  stats.pages_read += pages;
  return {};
}

// Clears the pagemap entries of a batch's pages that `skip` names.
void leave_out(const SkipPages& skip, uint64_t at, uint64_t entries[], size_t count, RegionPages which,
               ScanStats& stats) {
  for (const PageRange& part : skip({at, at + count * kPageSize, which})) {
    for (uint64_t page = std::max(part.start, at); page < std::min(part.end, at + count * kPageSize); page += kPageSize) {
      uint64_t& entry = entries[(page - at) / kPageSize];
      if (wanted(entry, which)) ++stats.pages_skipped;
      entry = 0;
    }
  }
}

Status read_range(int pid, int pagemap, const PageRange& region, std::vector<std::byte>& buffer,
                  const PageVisitor& visit, ScanStats& stats, const SkipPages& skip) {
  uint64_t entries[kBatchPages];
  for (uint64_t at = region.start; at < region.end; at += kBatchPages * kPageSize) {
    size_t count = std::min<uint64_t>(kBatchPages, (region.end - at) / kPageSize);
    ssize_t got = ::pread(pagemap, entries, count * sizeof(uint64_t), static_cast<off_t>(at / kPageSize * sizeof(uint64_t)));
    if (got <= 0) return {};
    count = static_cast<size_t>(got) / sizeof(uint64_t);
    if (skip) leave_out(skip, at, entries, count, region.pages, stats);
    for (size_t i = 0; i < count;) {
      if (!wanted(entries[i], region.pages)) { ++i; continue; }
      size_t run = 1;
      while (i + run < count && wanted(entries[i + run], region.pages)) ++run;
      Status read = read_run(pid, at + i * kPageSize, run, buffer, visit, stats);
      if (!read) return read;
      i += run;
    }
  }
  return {};
}

}  // namespace

std::optional<MapsRegion> parse_maps_line(const std::string& line) {
  std::istringstream in(line);
  std::string range, perms, offset, device, inode;
  if (!(in >> range >> perms >> offset >> device >> inode) || perms.size() < 4) return std::nullopt;
  size_t dash = range.find('-');
  if (dash == std::string::npos) return std::nullopt;
  MapsRegion region;
  try {
    region.start = std::stoull(range.substr(0, dash), nullptr, 16);
    region.end = std::stoull(range.substr(dash + 1), nullptr, 16);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  region.readable = perms[0] == 'r';
  region.shared = perms[3] == 's';
  std::getline(in >> std::ws, region.path);
  return region;
}

RegionPages pages_to_dump(const MapsRegion& region) {
  const std::string& path = region.path;
  if (!region.readable || path == "[vvar]" || path == "[vvar_vclock]" || path == "[vsyscall]") return RegionPages::None;
  if (region.shared) {
    bool anonymous = path.starts_with("/dev/zero") || path.starts_with("/SYSV") || path.starts_with("/memfd:") ||
                     path.starts_with("[anon_shmem");
    return anonymous ? RegionPages::All : RegionPages::None;  // a shared file keeps its own data
  }
  bool file_backed = path.starts_with("/");
  return file_backed ? RegionPages::AnonymousOnly : RegionPages::All;
}

int live_thread(int pid) {
  std::string tasks = "/proc/" + std::to_string(pid) + "/task/";
  std::vector<int> threads{pid};  // the main thread first
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(tasks, ec)) {
    int tid = std::atoi(entry.path().filename().c_str());
    if (tid != pid && tid > 0) threads.push_back(tid);
  }
  for (int tid : threads) {
    std::ifstream stat(tasks + std::to_string(tid) + "/stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(") ") == std::string::npos) continue;
    char state = line[line.rfind(") ") + 2];
    if (state == 'R' || state == 'S' || state == 'D') return tid;
  }
  return pid;
}

bool in_our_pid_namespace(int pid) { return pid_namespace(pid) == pid_namespace(::getpid()); }

Result<std::vector<int>> namespace_processes(int init_pid) {
  std::optional<ino_t> target = pid_namespace(init_pid);
  if (!target)
    return make_error(ErrorCode::NotFound, "process " + std::to_string(init_pid) + " is gone",
                      "is the container still running?");
  Result<std::vector<pid_t>> all = base::process_ids();
  if (!all) return std::move(all.error());
  std::vector<int> pids{init_pid};
  for (pid_t pid : *all)
    if (pid != init_pid && pid_namespace(pid) == target) pids.push_back(pid);
  return pids;
}

uint64_t page_count(const std::vector<PageRange>& ranges) {
  uint64_t pages = 0;
  for (const PageRange& range : ranges) pages += (range.end - range.start) / kPageSize;
  return pages;
}

std::vector<PageRange> dumpable_ranges(int pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::vector<PageRange> ranges;
  std::string line;
  while (std::getline(maps, line)) {
    std::optional<MapsRegion> region = parse_maps_line(line);
    if (!region) continue;
    RegionPages which = pages_to_dump(*region);
    if (which != RegionPages::None) ranges.push_back({region->start, region->end, which});
  }
  return ranges;
}

Status read_process_ranges(int pid, const std::vector<PageRange>& ranges, const PageVisitor& visit,
                           ScanStats& stats, const SkipPages& skip) {
  base::UniqueFd pagemap(::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap) return {};  // exited
  ++stats.processes;
  std::vector<std::byte> buffer(kBatchPages * kPageSize);
  for (const PageRange& range : ranges) {
    Status read = read_range(pid, pagemap.get(), range, buffer, visit, stats, skip);
    if (!read) return read;
  }
  return {};
}

}  // namespace dockmig::memory
