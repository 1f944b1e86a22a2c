// TCP sockets between agents. Connecting is non-blocking plus poll() so a dead host fails
// after the caller's timeout rather than the kernel's minutes. Sends use MSG_NOSIGNAL so a
// vanished peer is an error, not a SIGPIPE. The read timeout lives in the kernel
// (SO_RCVTIMEO, and SO_SNDTIMEO too: a peer that stops reading is as stuck as one that
// stops writing), so Connection needs no state beyond its fd (and its TLS session, if any).
// The TLS handshake runs on the socket made non-blocking, polled up to one deadline.
#include "transfer/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "transfer/tls.h"

namespace dockmig::transfer {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kDefaultReadTimeout{120'000};
constexpr int kBacklog = 64;

std::string errno_text(int error) { return std::strerror(error); }

std::string address_text(const std::string& host, uint16_t port) {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string address_text(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST] = "?";
  char service[NI_MAXSERV] = "?";
  getnameinfo(address, length, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
  return address_text(host, static_cast<uint16_t>(std::atoi(service)));
}

struct AddrInfoFree {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoFree>;

Result<AddrInfoList> resolve(const std::string& host, uint16_t port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    std::string reason = rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc);
    return make_error(ErrorCode::Network, "cannot resolve `" + host + "`: " + reason,
                      "check the host name, or give a numeric address");
  }
  return AddrInfoList(list);
}

void set_blocking(int fd, bool blocking) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
}

void set_socket_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval value{};
  value.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  value.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value);
}

std::string timeout_text(int fd, int option) {
  timeval value{};
  socklen_t length = sizeof value;
  getsockopt(fd, SOL_SOCKET, option, &value, &length);
  double seconds = static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

/// Reads and drops what the peer sends for `wait` at most, or until it closes.
void drain_for(int fd, std::chrono::milliseconds wait) {
  Clock::time_point until = Clock::now() + wait;
  char drain[4096];
  pollfd waiting{fd, POLLIN, 0};
  while (true) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0 || poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return;
    if (::recv(fd, drain, sizeof drain, MSG_DONTWAIT) <= 0) return;
  }
}

/// Connects to one resolved address by `deadline`: the blocking fd, or -1 with `failure` set.
int connect_one(const addrinfo& address, Clock::time_point deadline, int& failure) {
  int fd = socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address.ai_protocol);
  if (fd < 0) {
    failure = errno;
    return -1;
  }
  int error = ::connect(fd, address.ai_addr, address.ai_addrlen) == 0 ? 0 : errno;
  if (error == EINPROGRESS) {
    pollfd waiting{fd, POLLOUT, 0};
    int ready;
    do {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      ready = poll(&waiting, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    } while (ready < 0 && errno == EINTR);
    socklen_t length = sizeof error;
    if (ready == 0) error = ETIMEDOUT;
    else if (ready < 0) error = errno;
    else getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  }
  if (error != 0) {
    failure = error;
    ::close(fd);
    return -1;
  }
  set_blocking(fd, true);
  return fd;
}

}  // namespace

Connection::Connection(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {
  int on = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  set_socket_timeouts(fd_, kDefaultReadTimeout);
}

Result<Connection> Connection::connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  std::string address = address_text(host, port);
  Result<AddrInfoList> resolved = resolve(host, port, 0);
  if (!resolved) return std::move(resolved.error());
  Clock::time_point deadline = Clock::now() + timeout;
  int failure = ETIMEDOUT;
  for (const addrinfo* candidate = resolved->get(); candidate != nullptr; candidate = candidate->ai_next) {
    int fd = connect_one(*candidate, deadline, failure);
    if (fd >= 0) return Connection(fd, address);
  }
  return make_error(ErrorCode::Network, "cannot connect to `" + address + "`: " + errno_text(failure),
                    "check that `dockmig agent` runs on that host and that the port is reachable");
}

Connection::Connection(Connection&& other) noexcept
    : fd_(other.fd_), failure_errno_(other.failure_errno_), peer_(std::move(other.peer_)), tls_(std::move(other.tls_)) {
  other.fd_ = -1;
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    tls_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    failure_errno_ = other.failure_errno_;
    peer_ = std::move(other.peer_);
    tls_ = std::move(other.tls_);
    other.fd_ = -1;
  }
  return *this;
}

Connection::~Connection() {
  tls_.reset();  // before the fd it uses is closed
  if (fd_ >= 0) ::close(fd_);
}

Status Connection::start_tls(const TlsContext& context, const std::string& peer_name,
                             std::chrono::steady_clock::time_point deadline) {
  set_blocking(fd_, false);
  Result<std::unique_ptr<TlsStream>> stream = TlsStream::handshake(fd_, context, peer_name, deadline);
  set_blocking(fd_, true);
  if (!stream) {
    // A server that refuses the client's certificate has sent an alert, but the client
    // (in TLS 1.3 done with its handshake) may have sent its first bytes: closing with
    // those unread would reset the connection and lose the alert. Drain them first.
    // A second at most, or a peer that trickles bytes would hold this past the deadline.
    ::shutdown(fd_, SHUT_WR);
    drain_for(fd_, std::chrono::milliseconds(1000));
    return std::move(stream.error()).wrap("`" + peer_ + "`");
  }
  tls_ = std::move(*stream);
  return {};
}

std::string Connection::peer_identity() const { return tls_ ? tls_->peer_identity() : std::string(); }

CertRole Connection::peer_role() const { return tls_ ? tls_->peer_role() : CertRole::Unmarked; }

Result<std::optional<std::byte>> Connection::peek_byte(std::chrono::milliseconds wait) {
  pollfd waiting{fd_, POLLIN, 0};
  int ready;
  do ready = poll(&waiting, 1, static_cast<int>(wait.count()));
  while (ready < 0 && errno == EINTR);
  if (ready < 0) return make_error(ErrorCode::Network, "waiting for `" + peer_ + "`: " + errno_text(errno));
  if (ready == 0) return std::optional<std::byte>();
  std::byte first{};
  ssize_t got = ::recv(fd_, &first, 1, MSG_PEEK);
  if (got < 0) return make_error(ErrorCode::Network, "reading from `" + peer_ + "`: " + errno_text(errno));
  if (got == 0) return std::optional<std::byte>();
  return std::optional<std::byte>(first);
}

Status Connection::write_all(std::span<const std::byte> data) {
  if (tls_) {
    while (!data.empty()) {
      Result<size_t> sent = tls_->write_some(data);
      if (!sent && sent.error().code == ErrorCode::Timeout) note_failure(EAGAIN);
      if (!sent && sent.error().code == ErrorCode::Timeout)
        return make_error(ErrorCode::Timeout, "sending to `" + peer_ + "`: it accepted nothing for " +
                                                  timeout_text(fd_, SO_SNDTIMEO));
      if (!sent) note_failure(tls_->last_errno());
      if (!sent) return std::move(sent.error()).wrap("sending to `" + peer_ + "`");
      data = data.subspan(*sent);
    }
    return {};
  }
  while (!data.empty()) {
    ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      note_failure(EAGAIN);
      return make_error(ErrorCode::Timeout, "sending to `" + peer_ + "`: it accepted nothing for " +
                                                timeout_text(fd_, SO_SNDTIMEO));
    }
    if (sent < 0) note_failure(errno);
    if (sent < 0) return make_error(ErrorCode::Network, "sending to `" + peer_ + "`: " + errno_text(errno));
    data = data.subspan(static_cast<size_t>(sent));
  }
  return {};
}

Result<size_t> Connection::read_some(std::span<std::byte> buffer) {
  if (tls_) {
    Result<size_t> got = tls_->read_some(buffer);
    if (!got && got.error().code == ErrorCode::Timeout) note_failure(EAGAIN);
    if (!got && got.error().code == ErrorCode::Timeout)
      return make_error(ErrorCode::Timeout, "reading from `" + peer_ + "`: nothing arrived for " +
                                                timeout_text(fd_, SO_RCVTIMEO));
    if (!got) note_failure(tls_->last_errno());
    if (!got) return std::move(got.error()).wrap("reading from `" + peer_ + "`");
    return got;
  }
  while (true) {
    ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      note_failure(EAGAIN);
      return make_error(ErrorCode::Timeout, "reading from `" + peer_ + "`: nothing arrived for " +
                                                timeout_text(fd_, SO_RCVTIMEO));
    }
    if (got < 0) note_failure(errno);
    if (got < 0) return make_error(ErrorCode::Network, "reading from `" + peer_ + "`: " + errno_text(errno));
    return static_cast<size_t>(got);
  }
}

Status Connection::read_exact(std::span<std::byte> buffer) {
  while (!buffer.empty()) {
    Result<size_t> got = read_some(buffer);
    if (!got) return std::move(got.error());
    if (*got == 0) {
      note_failure(0);
      return make_error(ErrorCode::Network, "reading from `" + peer_ + "`: the peer closed the connection");
    }
    buffer = buffer.subspan(*got);
  }
  return {};
}

Status Connection::read_exact_by(std::span<std::byte> buffer, std::chrono::steady_clock::time_point deadline) {
  timeval configured{};
  socklen_t length = sizeof configured;
  getsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &configured, &length);
  auto wait = std::chrono::seconds(configured.tv_sec) + std::chrono::microseconds(configured.tv_usec);
  Status read;
  while (read && !buffer.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      read = make_error(ErrorCode::Timeout, "reading from `" + peer_ + "`: the peer began a frame and did not "
                                            "finish it in time; " + std::to_string(buffer.size()) + " bytes missing");
      break;
    }
    timeval bounded{};
    auto bound = wait.count() > 0 ? std::min(left, std::chrono::duration_cast<std::chrono::microseconds>(wait)) : left;
    bounded.tv_sec = static_cast<time_t>(bound.count() / 1'000'000);
    bounded.tv_usec = static_cast<suseconds_t>(bound.count() % 1'000'000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &bounded, sizeof bounded);
    Result<size_t> got = read_some(buffer);
    if (!got) {
      bool deadline_passed = got.error().code == ErrorCode::Timeout && std::chrono::steady_clock::now() >= deadline;
      if (!deadline_passed) read = std::move(got.error());  // else said at the loop's top
    } else if (*got == 0) {
      note_failure(0);
      read = make_error(ErrorCode::Network, "reading from `" + peer_ + "`: the peer closed the connection");
    } else {
      buffer = buffer.subspan(*got);
    }
  }
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &configured, sizeof configured);
  return read;
}

void Connection::set_read_timeout(std::chrono::milliseconds timeout) { set_socket_timeouts(fd_, timeout); }

void Connection::set_silence_limit(std::chrono::seconds limit) {
  int on = 1;
  int idle = std::max<int>(1, static_cast<int>(limit.count() / 4));
  int probes = 4;
  auto unacknowledged_ms = static_cast<unsigned>(std::chrono::milliseconds(limit).count());
  setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd_, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd_, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
  setsockopt(fd_, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
  // Bounds both sent data left unacknowledged and keepalive probes left unanswered.
  setsockopt(fd_, IPPROTO_TCP, TCP_USER_TIMEOUT, &unacknowledged_ms, sizeof unacknowledged_ms);
}

bool Connection::link_reset() const { return failure_errno_ == ECONNRESET; }

bool Connection::link_lost() const {
  switch (failure_errno_) {
    case ETIMEDOUT: case ECONNRESET: case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EHOSTDOWN:
      return true;
    default:
      return false;
  }
}

// shutdown() rather than close(): it also wakes a thread blocked reading this socket, and
// the fd stays valid until the destructor so nothing can reuse its number meanwhile.
void Connection::close() {
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
}

uint64_t Connection::unacknowledged_bytes() const {
  int queued = 0;
  if (fd_ < 0 || ioctl(fd_, SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
  return static_cast<uint64_t>(queued);
}

// connect() to AF_UNSPEC disconnects a TCP socket, and an established one with a reset
// (Linux's tcp_disconnect); shutdown() would send a FIN, which the peer reads as closed.
void Connection::reset() {
  if (fd_ < 0) return;
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  if (::connect(fd_, &unspecified, sizeof unspecified) != 0) shutdown(fd_, SHUT_RDWR);
}

Result<Listener> Listener::listen(const std::string& host, uint16_t port) {
  Result<Listener> listener = reserve(host, port);
  if (!listener) return listener;
  if (Status opened = listener->open(); !opened) return std::move(opened.error());
  return listener;
}

Status Listener::open() {
  // Connections wait here while every handshake place of the agent is taken (agent.cc).
  if (::listen(fd_, kBacklog) == 0) return {};
  return make_error(ErrorCode::Network, "cannot listen on port " + std::to_string(port_) + ": " + errno_text(errno),
                    "another program (or another agent) uses that port; pick another");
}

Result<Listener> Listener::reserve(const std::string& host, uint16_t port) {
  std::string address = address_text(host, port);
  Result<AddrInfoList> resolved = resolve(host, port, AI_PASSIVE);
  if (!resolved) return std::move(resolved.error());
  int failure = 0;
  for (const addrinfo* candidate = resolved->get(); candidate != nullptr; candidate = candidate->ai_next) {
    int fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    candidate->ai_protocol);
    if (fd < 0) {
      failure = errno;
      continue;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) != 0) {
      failure = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    uint16_t bound_port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return Listener(fd, bound_port);
  }
  std::string hint = failure == EADDRINUSE ? "another program (or another agent) uses that port; pick another"
                                           : "check the address: it must be one of this host's";
  return make_error(ErrorCode::Network, "cannot listen on `" + address + "`: " + errno_text(failure), hint);
}

Listener::Listener(Listener&& other) noexcept : fd_(other.fd_), port_(other.port_) { other.fd_ = -1; }

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    port_ = other.port_;
    other.fd_ = -1;
  }
  return *this;
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::optional<Connection>> Listener::accept_for(std::chrono::milliseconds wait) {
  pollfd waiting{fd_, POLLIN, 0};
  int ready = poll(&waiting, 1, static_cast<int>(wait.count()));
  // A signal (EINTR) counts as "none came" so a server loop gets to check its stop flag.
  if (ready < 0 && errno == EINTR) return std::optional<Connection>();
  if (ready < 0) return make_error(ErrorCode::Network, "waiting for connections: " + errno_text(errno));
  if (ready == 0) return std::optional<Connection>();
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
  if (fd < 0) {
    // The client may have given up between poll and accept; that is not the server's error.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) {
      return std::optional<Connection>();
    }
    return make_error(ErrorCode::Network, "accepting a connection: " + errno_text(errno));
  }
  return std::optional<Connection>(Connection(fd, address_text(reinterpret_cast<sockaddr*>(&peer), length)));
}

}  // namespace dockmig::transfer
