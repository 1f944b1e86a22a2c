#include "memory/write_tracker.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "inject/remote_syscall.h"

// Debian 12's kernel headers predate these (Linux 6.4 and 6.7): the values are the kernel's uapi.
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
  __u64 start, end, categories;
};
struct pm_scan_arg {
  __u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
  __u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

namespace dockmig::memory {
namespace {

// User-mode faults only: a container has no CAP_SYS_PTRACE, and in async mode the
// kernel resolves every write itself anyway.
constexpr long kUffdFlags = O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY;
constexpr uint64_t kUffdFeatures = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
constexpr unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD

Error errno_error(const std::string& what) { return make_error(ErrorCode::Unsupported, what + ": " + std::strerror(errno)); }

Status enable_async_write_protect(int uffd) {
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kUffdFeatures;
  if (::ioctl(uffd, UFFDIO_API, &api) != 0)
    return errno_error("the kernel has no asynchronous userfaultfd write-protect (Linux 6.7+)");
  return {};
}

bool protect(int uffd, uint64_t start, uint64_t end) {
  uffdio_register reg{};
  reg.range = {start, end - start};
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) return false;
  uffdio_writeprotect wp{};
  wp.range = reg.range;
  wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
  return ::ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0;
}

enum class Reprotect { Yes, No };

// The pages of [start, end) written since the last scan, protected again unless `reprotect`
// says no (a look that leaves them for the next scan); -1 on error.
long scan_written(int pagemap, uint64_t start, uint64_t end, std::vector<PageRange>& out, RegionPages pages,
                  Reprotect reprotect = Reprotect::Yes) {
  std::vector<page_region> found(1024);
  long total = 0;
  for (;;) {
    pm_scan_arg scan{};
    scan.size = sizeof scan;
    scan.flags = reprotect == Reprotect::Yes ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : PM_SCAN_CHECK_WPASYNC;
    scan.start = start;
    scan.end = end;
    scan.vec = reinterpret_cast<uint64_t>(found.data());
    scan.vec_len = found.size();
    scan.category_mask = PAGE_IS_WRITTEN;
    scan.return_mask = PAGE_IS_WRITTEN;
    long count = ::ioctl(pagemap, PAGEMAP_SCAN, &scan);
    if (count < 0) return -1;
    for (long i = 0; i < count; ++i) out.push_back({found[i].start, found[i].end, pages});
    total += count;
    // `walk_end` can stop short of `end` with the results complete: only a full vector
    // means there is more.
    if (static_cast<size_t>(count) < found.size() || scan.walk_end >= end) return total;
    start = scan.walk_end;
  }
}

}  // namespace

Status write_tracking_supported() {
#if !defined(__x86_64__)
  return make_error(ErrorCode::Unsupported, "creating a userfaultfd inside a container's process is implemented for x86_64 only");
#endif
  base::UniqueFd uffd(static_cast<int>(::syscall(SYS_userfaultfd, kUffdFlags)));
  if (!uffd) return errno_error("userfaultfd is not available");
  Status enabled = enable_async_write_protect(uffd.get());
  if (!enabled) return enabled;
  const size_t size = 4 * 4096;
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return errno_error("mmap");
  auto start = reinterpret_cast<uint64_t>(memory);
  base::UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  std::vector<PageRange> written;
  bool works = protect(uffd.get(), start, start + size);
  static_cast<volatile char*>(memory)[4096] = 1;
  works = works && pagemap && scan_written(pagemap.get(), start, start + size, written, RegionPages::All) == 1 &&
          written.front() == PageRange{start + 4096, start + 8192, RegionPages::All};
  uffd.reset();
  ::munmap(memory, size);
  if (!works) return make_error(ErrorCode::Unsupported, "PAGEMAP_SCAN did not report a written page (Linux 6.7+ needed)");
  return {};
}

namespace {

bool holds_userfaultfd(int thread, int fd) {
  std::error_code ec;
  std::filesystem::path target =
      std::filesystem::read_symlink("/proc/" + std::to_string(thread) + "/fd/" + std::to_string(fd), ec);
  return !ec && target == "anon_inode:[userfaultfd]";
}

// A signal to the process (a child's SIGCHLD, say) interrupts an injected call and ends the
// seizure; the close is tried again in a new one, since a userfaultfd left in the process
// would make CRIU refuse to dump it.
Status close_remote_fd(inject::RemoteProcess& seized, int thread, int fd) {
  std::optional<inject::RemoteProcess> again;
  for (int attempt = 0;; ++attempt) {
    inject::RemoteProcess& remote = again ? *again : seized;
    Result<long> closed = remote.syscall(SYS_close, {static_cast<uint64_t>(fd)});
    if (closed && *closed == 0) return {};
    if (closed) return make_error(ErrorCode::Internal, std::strerror(static_cast<int>(-*closed)));
    if (closed.error().code != ErrorCode::Interrupted || attempt == 4) return std::move(closed.error());
    // The call may have run before the signal stopped it; the number may be reused since.
    if (!holds_userfaultfd(thread, fd)) return {};
    again.reset();
    Result<inject::RemoteProcess> seized_again = inject::RemoteProcess::seize(thread);
    if (!seized_again) return std::move(seized_again.error());
    again.emplace(std::move(*seized_again));
  }
}

// Creates a userfaultfd inside process `pid` through its thread `thread`, takes it out
// and closes it there.
Result<base::UniqueFd> take_userfaultfd(int pid, int thread) {
  std::string who = "process " + std::to_string(pid);
  // A pidfd of the thread itself (PIDFD_THREAD, Linux 6.9+) when the main thread is gone:
  // the main thread's pidfd then reaches no descriptor table.
  base::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, thread, thread == pid ? 0 : kPidfdThread)));
  if (!pidfd) return make_error(ErrorCode::NotFound, "pidfd_open of " + who + ": " + std::strerror(errno));
  Result<inject::RemoteProcess> remote = inject::RemoteProcess::seize(thread);
  if (!remote) return std::move(remote.error());
  Result<long> remote_fd = remote->syscall(SYS_userfaultfd, {static_cast<uint64_t>(kUffdFlags)});
  if (!remote_fd) return std::move(remote_fd.error());
  if (*remote_fd < 0)
    return make_error(ErrorCode::Unsupported,
                      who + " cannot create a userfaultfd: " + std::strerror(static_cast<int>(-*remote_fd)));
  base::UniqueFd uffd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), static_cast<int>(*remote_fd), 0)));
  int taken_errno = errno;
  Status closed = close_remote_fd(*remote, thread, static_cast<int>(*remote_fd));
  if (!closed)
    return make_error(ErrorCode::Internal, who + " kept userfaultfd " + std::to_string(*remote_fd) +
                                               ": closing it failed: " + closed.error().message);
  if (!uffd) return make_error(ErrorCode::Unsupported, "pidfd_getfd from " + who + ": " + std::strerror(taken_errno));
  return uffd;
}

}  // namespace

Result<WriteTracker> WriteTracker::attach(int pid, std::chrono::duration<double>& stopped) {
  int thread = live_thread(pid);
  base::UniqueFd pagemap(::open(("/proc/" + std::to_string(thread) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap) return make_error(ErrorCode::NotFound, "process " + std::to_string(pid) + " is gone");
  auto begin = std::chrono::steady_clock::now();
  Result<base::UniqueFd> uffd = take_userfaultfd(pid, thread);
  stopped = std::chrono::steady_clock::now() - begin;
  if (!uffd) return std::move(uffd.error());
  Status enabled = enable_async_write_protect(uffd->get());
  if (!enabled) return std::move(enabled.error());
  return WriteTracker(std::move(*uffd), std::move(pagemap));
}

bool WriteTracker::tracked(const PageRange& range) const {
  auto after = protected_.upper_bound(range.start);
  return after != protected_.begin() && std::prev(after)->second >= range.end;
}

bool WriteTracker::start_tracking(const PageRange& range) {
  if (!protect(uffd_.get(), range.start, range.end)) return false;
  protected_.erase(protected_.lower_bound(range.start), protected_.lower_bound(range.end));
  protected_[range.start] = range.end;
  return true;
}

bool WriteTracker::collect_written(const PageRange& range, std::vector<PageRange>& out) {
  size_t before = out.size();
  if (scan_written(pagemap_.get(), range.start, range.end, out, range.pages) >= 0) return true;
  out.resize(before);
  return false;
}

std::optional<std::vector<PageRange>> WriteTracker::look(const std::vector<PageRange>& ranges,
                                                         bool untracked_whole) const {
  std::vector<PageRange> written;
  for (const PageRange& range : ranges) {
    if (!tracked(range)) {
      if (untracked_whole) written.push_back(range);
    } else if (scan_written(pagemap_.get(), range.start, range.end, written, range.pages, Reprotect::No) < 0) {
      return std::nullopt;
    }
  }
  return written;
}

std::optional<uint64_t> WriteTracker::pages_written(const std::vector<PageRange>& ranges) const {
  std::optional<std::vector<PageRange>> written = look(ranges, true);
  if (!written) return std::nullopt;
  return page_count(*written);
}

std::optional<std::vector<PageRange>> WriteTracker::written_again(const std::vector<PageRange>& ranges) const {
  return look(ranges, false);
}

std::vector<PageRange> WriteTracker::changed(const std::vector<PageRange>& ranges) {
  std::vector<PageRange> to_read;
  for (const PageRange& range : ranges) {
    if (tracked(range) && collect_written(range, to_read)) continue;
    if (!refused_.contains({range.start, range.end}) && !start_tracking(range)) refused_.insert({range.start, range.end});
    to_read.push_back(range);
  }
  return to_read;
}

}  // namespace dockmig::memory
