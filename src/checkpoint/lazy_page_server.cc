// Serves CRIU's lazy-pages daemon one request at a time, so answers leave in request order
// (the daemon matches each to its oldest request). Every wait also polls an eventfd, the
// destructor's stop; nothing here closes the socket.
#include "checkpoint/lazy_page_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"

namespace dockmig::checkpoint {
namespace {

// criu/page-xfer.c and criu/include/pagemap.h (CRIU 4.2).
struct PageServerIov {
  uint32_t cmd;
  uint64_t nr_pages;
  uint64_t vaddr;
  uint64_t dst_id;
};
static_assert(sizeof(PageServerIov) == 32);

constexpr uint32_t kGet = 7;                          // PS_IOV_GET
constexpr uint32_t kPresentPages = (4u << 16) | 6u;  // PS_IOV_ADD_F with PE_PRESENT
constexpr uint32_t kClose = 0x1023;                  // PS_IOV_CLOSE
constexpr uint32_t kForceClose = 0x1024;             // PS_IOV_FORCE_CLOSE, sent over --ps-socket
constexpr uint64_t kPageSize = 4096;
constexpr int kDaemonSendBuffer = 4 << 20;

enum class Transfer { done, hung_up, stopped };

std::string errno_text() { return std::strerror(errno); }

// Our end of the socketpair, with the eventfd every wait on it also polls.
class DaemonSocket {
 public:
  DaemonSocket(int socket, int stop) : socket_(socket), stop_(stop) {}

  Result<Transfer> receive(std::span<std::byte> bytes) const {
    return move_all(POLLIN, bytes.size(), [&](size_t offset) {
      return ::recv(socket_, bytes.data() + offset, bytes.size() - offset, MSG_DONTWAIT);
    });
  }
  Result<Transfer> send(std::span<const std::byte> bytes) const {
    return move_all(POLLOUT, bytes.size(), [&](size_t offset) {
      return ::send(socket_, bytes.data() + offset, bytes.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    });
  }

 private:
  Result<Transfer> wait_ready(short events) const {
    pollfd fds[2] = {{socket_, events, 0}, {stop_, POLLIN, 0}};
    for (;;) {
      int ready = ::poll(fds, 2, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return make_error(ErrorCode::Io, "waiting on the lazy-pages daemon's socket: " + errno_text());
      return fds[1].revents != 0 ? Transfer::stopped : Transfer::done;
    }
  }

  // Moves `size` bytes with `step(offset)`, a non-blocking recv or send of the rest.
  template <class Step>
  Result<Transfer> move_all(short events, size_t size, Step step) const {
    size_t moved = 0;
    while (moved < size) {
      Result<Transfer> ready = wait_ready(events);
      if (!ready || *ready != Transfer::done) return ready;
      ssize_t n = step(moved);
      if (n == 0 || (n < 0 && (errno == EPIPE || errno == ECONNRESET))) return Transfer::hung_up;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n < 0) return make_error(ErrorCode::Io, "the lazy-pages daemon's socket: " + errno_text());
      moved += static_cast<size_t>(n);
    }
    return Transfer::done;
  }

  int socket_;
  int stop_;
};

template <class T>
std::span<const std::byte> bytes_of(const T& value) {
  return std::as_bytes(std::span(&value, 1));
}

Status check_get(const PageServerIov& request) {
  if (request.cmd != kGet)
    return make_error(ErrorCode::ToolFailed, "the lazy-pages daemon sent an unknown command " +
                                                 std::to_string(request.cmd));
  if (request.nr_pages == 0 || request.nr_pages > LazyPageServer::kMaxRequestPages)
    return make_error(ErrorCode::ToolFailed, "the lazy-pages daemon asked for " + std::to_string(request.nr_pages) +
                                                 " pages at once (at most " +
                                                 std::to_string(LazyPageServer::kMaxRequestPages) + " are served)");
  if (request.vaddr % kPageSize != 0)
    return make_error(ErrorCode::ToolFailed, "the lazy-pages daemon asked for pages at an unaligned address " +
                                                 std::to_string(request.vaddr));
  return {};
}

// The header echoed as present pages (as many as the reader gave: `served`), then the
// pages themselves.
Result<Transfer> answer_get(const DaemonSocket& daemon, const LazyPageServer::PageReader& reader,
                            const PageServerIov& request, std::vector<std::byte>& pages, uint64_t& served) {
  if (Status valid = check_get(request); !valid) return std::move(valid.error());
  spdlog::debug("lazy page server: task {} asks {} page(s) at {:#x}", request.dst_id, request.nr_pages,
                request.vaddr);
  pages.resize(request.nr_pages * kPageSize);
  Result<uint64_t> read = reader(request.dst_id, request.vaddr, request.nr_pages, pages);
  if (!read)
    return std::move(read.error())
        .wrap("reading " + std::to_string(request.nr_pages) + " page(s) of task " + std::to_string(request.dst_id));
  if (*read == 0 || *read > request.nr_pages)
    return make_error(ErrorCode::Internal, "the page reader gave " + std::to_string(*read) + " of " +
                                               std::to_string(request.nr_pages) + " pages");
  PageServerIov reply = request;
  reply.cmd = kPresentPages;
  reply.nr_pages = served = *read;
  Result<Transfer> sent = daemon.send(bytes_of(reply));
  if (!sent || *sent != Transfer::done) return sent;
  return daemon.send(std::span(pages).first(*read * kPageSize));
}

// The daemon waits for this status word before it closes its end.
Result<Transfer> answer_close(const DaemonSocket& daemon) {
  const int32_t status = 0;
  return daemon.send(bytes_of(status));
}

// How serving ends after `outcome`: its error, or nothing (a hangup is logged: the daemon's
// own exit tells why it went).
Status ended(Result<Transfer> outcome, std::string_view when) {
  if (!outcome) return std::move(outcome.error());
  if (*outcome == Transfer::hung_up) spdlog::warn("lazy page server: the daemon hung up {}", when);
  return {};
}

}  // namespace

Result<std::unique_ptr<LazyPageServer>> LazyPageServer::start(PageReader reader) {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    return make_error(ErrorCode::Io, "socketpair for the lazy page server: " + errno_text());
  base::UniqueFd own_end(ends[0]), daemon_end(ends[1]);
  // The daemon sends each request without waiting (MSG_DONTWAIT) and ends when one does
  // not fit, while this server reads the next only once it answered the last: room for
  // many requests of threads that fault at once (best effort: SO_SNDBUFFORCE needs
  // CAP_NET_ADMIN, which an agent has).
  int room = kDaemonSendBuffer;
  if (::setsockopt(daemon_end.get(), SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room) != 0)
    spdlog::debug("lazy page server: the daemon's send buffer stays as it is: {}", errno_text());
  base::UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) return make_error(ErrorCode::Io, "eventfd for the lazy page server: " + errno_text());
  std::unique_ptr<LazyPageServer> server(
      new LazyPageServer(std::move(reader), std::move(own_end), std::move(daemon_end), std::move(stop)));
  server->thread_ = std::thread([raw = server.get()] { raw->serve(); });
  return server;
}

LazyPageServer::~LazyPageServer() {
  uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof one) != sizeof one)
    spdlog::error("cannot stop the lazy page server: {}", errno_text());
  if (thread_.joinable()) thread_.join();
}

std::string LazyPageServer::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

void LazyPageServer::fail(std::string reason) {
  spdlog::warn("lazy page server stopped answering: {}; its socket stays open until it is destroyed", reason);
  std::lock_guard lock(failure_mutex_);
  failure_ = std::move(reason);
}

void LazyPageServer::serve() {
  Status served = base::contain_exceptions("the lazy page server", [this] { return serve_requests(); });
  if (!served) fail(served.error().message);
}

Status LazyPageServer::serve_requests() {
  const DaemonSocket daemon(own_end_.get(), stop_.get());
  std::vector<std::byte> pages;
  for (;;) {
    PageServerIov request{};
    Result<Transfer> received = daemon.receive(std::as_writable_bytes(std::span(&request, 1)));
    if (!received || *received != Transfer::done) return ended(std::move(received), "without closing");
    if (request.cmd == kClose || request.cmd == kForceClose) {
      spdlog::info("lazy page server: the daemon closed after {} requests, {} pages", requests_served(),
                   pages_served());
      return ended(answer_close(daemon), "before the close was answered");
    }
    uint64_t served = 0;
    Result<Transfer> answered = answer_get(daemon, reader_, request, pages, served);
    if (!answered || *answered != Transfer::done) return ended(std::move(answered), "before its answer");
    requests_served_.fetch_add(1, std::memory_order_relaxed);
    pages_served_.fetch_add(served, std::memory_order_relaxed);
  }
}

}  // namespace dockmig::checkpoint
