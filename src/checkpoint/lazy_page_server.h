// The page server a `criu lazy-pages --page-server --ps-socket FD` daemon asks for every
// lazy page, run in-process over a socketpair, so that pages come from wherever dockmig has
// them (a local image, or its own authenticated link from the source) and no CRIU page
// server takes part. CRIU's protocol (criu/page-xfer.c): 32-byte headers in native layout;
// the daemon pipelines PS_IOV_GET requests and reads the answers in request order; it ends
// with PS_IOV_FORCE_CLOSE and waits for a 4-byte status before it closes its end.
//
// Safety: when serving stops on an error, the server goes silent but keeps its end open.
// A daemon whose page server hangs up ends, and the kernel then fills the container's
// missing pages with zeros: silent corruption. So the owner removes the container first,
// then destroys the server; only the destructor closes the socket.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "base/unique_fd.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

class LazyPageServer {
 public:
  /// Fills `out` (pages * 4096 bytes) with the pages of task `task_id` (its pid in the dump,
  /// as in pagemap-<pid>.img) from `vaddr` on, or fails; returns how many it filled, from 1
  /// to all: the daemon asks again for the rest, so a long read need not hold up a fault
  /// queued behind it (the answers go in request order). Runs on the serving thread; the
  /// destructor waits for a read under way, so it must end on its own.
  using PageReader =
      std::function<Result<uint64_t>(uint64_t task_id, uint64_t vaddr, uint64_t pages, std::span<std::byte> out)>;

  /// The largest request served (CRIU asks at most 4 MiB, 1024 pages); more is a protocol error.
  static constexpr uint64_t kMaxRequestPages = 4096;

  /// Makes the socketpair and starts serving our end on a thread of its own.
  static Result<std::unique_ptr<LazyPageServer>> start(PageReader reader);
  LazyPageServer(const LazyPageServer&) = delete;
  LazyPageServer& operator=(const LazyPageServer&) = delete;
  /// Stops the thread, waits for it, and only then closes the socket (see the safety note).
  ~LazyPageServer();

  /// The fd to hand to `criu lazy-pages --ps-socket FD`; close_daemon_end once it holds it.
  int daemon_end() const { return daemon_end_.get(); }
  void close_daemon_end() { daemon_end_.reset(); }
  /// This server's own end, for the daemon to hold as well (LazyPagesDaemon::start_remote).
  int own_end() const { return own_end_.get(); }

  uint64_t requests_served() const { return requests_served_.load(std::memory_order_relaxed); }
  uint64_t pages_served() const { return pages_served_.load(std::memory_order_relaxed); }
  /// Why serving stopped (the reader's error or a protocol error), or "" while it serves, after
  /// the daemon's close, and after the daemon hung up (its own exit tells why).
  std::string failure() const;

 private:
  LazyPageServer(PageReader reader, base::UniqueFd own_end, base::UniqueFd daemon_end, base::UniqueFd stop)
      : reader_(std::move(reader)), own_end_(std::move(own_end)), daemon_end_(std::move(daemon_end)),
        stop_(std::move(stop)) {}
  void serve();
  Status serve_requests();
  void fail(std::string reason);

  PageReader reader_;
  base::UniqueFd own_end_;
  base::UniqueFd daemon_end_;
  base::UniqueFd stop_;  // an eventfd: readable once the destructor wants the thread to end
  std::atomic<uint64_t> requests_served_{0};
  std::atomic<uint64_t> pages_served_{0};
  mutable std::mutex failure_mutex_;
  std::string failure_;
  std::thread thread_;
};

}  // namespace dockmig::checkpoint
