// Post-copy restore from the images already at the destination. Every dump marks the pages
// of private anonymous memory as lazy-able (PE_LAZY, besides PE_PRESENT), so a restore told
// `lazy-pages` leaves them out and hands each process's userfaultfd to a `criu lazy-pages`
// daemon: the container runs as soon as its processes exist, the daemon copies a page in
// when it is first touched and, once the restore has finished, all the others behind it.
// Docker's API has no lazy restore, but runc gives CRIU /etc/criu/runc.conf on restore
// too: the lent lines `lazy-pages` and `work-dir` send the restore to this daemon's socket
// (CRIU finds `lazy-pages.socket` in its work dir; a work-dir of runc.conf overrides runc's).
// Started plain, the daemon reads the pages from the local images; started with a page
// server (start_remote), it asks dockmig's own LazyPageServer for every lazy page over a
// socketpair. Either way no CRIU page-server process and no page pipes take part: the
// pipe-size limit (fs.pipe-max-size) only matters to CRIU's dump-side page server, which
// dockmig does not use.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/unique_fd.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// What the daemon's log says it copied.
struct LazyFill {
  int processes = 0;          // processes whose every page it copied or that ended
  uint64_t pages_copied = 0;
  uint64_t pages_total = 0;
  uint64_t pages_discarded = 0;  // never copied because the process unmapped or discarded them
  std::string incomplete;     // the first process left short, or an error line; "" when all arrived
};

/// Reads a `criu lazy-pages -v4` log: one "UFFD transferred pages: (COPIED/TOTAL)" line per
/// process as it is done with it, its REMOVE, UNMAP and EXIT events, and CRIU's "Error"
/// lines. TOTAL is counted at the restore: pages the process itself gave up since (a
/// malloc's madvise(MADV_DONTNEED), a munmap) are dropped uncopied, and a process that
/// ended needs none, so a process is short only when more pages are missing than it gave up.
LazyFill parse_lazy_pages_log(const std::string& log);

/// Why a restore on this host cannot be lazy, or "" when it can: `uffd_noncooperative` is
/// what `criu check --feature uffd-noncoop` said (CriuFeatures::lazy_pages).
std::string lazy_restore_blocker(bool uffd_noncooperative);
/// The same for this host, asking `criu` (the CRIU dockerd runs).
std::string host_lazy_restore_blocker(const std::string& criu);

/// How long a destination waits for the daemon to fill every page: below the peer link's
/// read timeout (120 s), so the source hears why rather than a silent link.
inline constexpr std::chrono::seconds kLazyFillTimeout{90};

/// Ends the `criu lazy-pages` daemon whose pidfile is in `work_dir`, if it still runs there
/// (its command line names `work_dir`): one an agent that died left behind, detached.
void end_left_daemon(const std::filesystem::path& work_dir);

/// A running `criu lazy-pages` that serves one restore from the images in a local dir.
class LazyPagesDaemon {
 public:
  /// Starts it in `work_dir` (made afresh), listening for the restore; `images_dir` must
  /// hold the checkpoint's images, pages included, until wait_filled returns.
  static Result<LazyPagesDaemon> start(const std::string& criu, const std::filesystem::path& images_dir,
                                       const std::filesystem::path& work_dir);
  /// The same, but the daemon asks the page server on `page_server_fd` (a LazyPageServer's
  /// daemon_end, passed on to it) for every lazy page; `images_dir` still needs the
  /// pagemap-*.img and pages-*.img files, which CRIU opens even then. The daemon holds
  /// `held_fd` (the server's own end) too, unused: were the agent to die, the daemon would
  /// not see its page server hang up, end, and leave the missing pages to be zero-filled;
  /// the restored processes wait on them instead, until the agent's next start removes
  /// the container and ends the daemon.
  static Result<LazyPagesDaemon> start_remote(const std::string& criu, const std::filesystem::path& images_dir,
                                              const std::filesystem::path& work_dir, int page_server_fd,
                                              int held_fd);
  LazyPagesDaemon(LazyPagesDaemon&&) = default;
  ~LazyPagesDaemon();

  /// The runc.conf lines that make the next restore lazy and send it to this daemon.
  std::string restore_config_lines() const;
  /// Where the lazy restore's CRIU writes its restore.log (not runc's work dir, which
  /// runc's error message names), and the daemon its own log.
  const std::filesystem::path& work_dir() const { return work_dir_; }
  std::filesystem::path log_path() const;

  /// Waits until the daemon has copied every page of every process and ended; an error
  /// when it failed, left pages out, or took longer than `timeout` (it is killed then).
  /// `abandoned`, asked about every 200 ms, ends the wait with an error when it gives a
  /// reason (a page server that stopped answering: the daemon would wait for ever).
  Result<LazyFill> wait_filled(std::chrono::milliseconds timeout,
                               const std::function<std::string()>& abandoned = {});

 private:
  static Result<LazyPagesDaemon> launch(const std::string& criu, const std::filesystem::path& images_dir,
                                        const std::filesystem::path& work_dir, int page_server_fd, int held_fd);
  LazyPagesDaemon(std::filesystem::path work_dir, base::UniqueFd pidfd)
      : work_dir_(std::move(work_dir)), pidfd_(std::move(pidfd)) {}
  std::filesystem::path work_dir_;
  base::UniqueFd pidfd_;  // the daemon's; readable once it has ended
};

}  // namespace dockmig::checkpoint
