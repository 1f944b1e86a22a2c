// The socket is non-blocking throughout, so no read (nor a TLS record that arrives a byte
// at a time) can wait past the request's deadline: every wait is a poll with what is left.
#include "agent/api_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

namespace dockmig::agent {
namespace {

using Clock = std::chrono::steady_clock;

bool wait_for(int socket, short events, Clock::time_point until) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    pollfd watched{socket, events, 0};
    int ready = ::poll(&watched, 1, static_cast<int>(left));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

/// The client closed its end (or the connection broke). It sends nothing after its one
/// request, so anything else (a FIN, a reset) is the end.
bool peer_hung_up(int socket) {
  pollfd watched{socket, POLLRDHUP, 0};
  return ::poll(&watched, 1, 0) > 0 && (watched.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/// The address of one end of `socket`, as text.
void address_of(int socket, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  int got = peer ? ::getpeername(socket, reinterpret_cast<sockaddr*>(&address), &length)
                 : ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length);
  if (got != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

/// httplib's view of the connection: reads end at the request's deadline, each write
/// within the write timeout.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(int socket, SSL* ssl, const ConnectionLimits& limits, Clock::time_point deadline)
      : socket_(socket), ssl_(ssl), limits_(limits), deadline_(deadline) {}

  bool is_readable() const override {
    return (ssl_ && SSL_pending(ssl_) > 0) || wait_for(socket_, POLLIN, read_until());
  }
  // httplib asks this before each piece of a streamed answer (and a stream's handler on
  // its wake-ups): a client that hung up is not writable, so its stream ends now rather
  // than at the second write after (the first one still goes out, and draws a reset).
  bool is_writable() const override {
    return !peer_hung_up(socket_) && wait_for(socket_, POLLOUT, Clock::now() + limits_.write_timeout);
  }

  ssize_t read(char* data, size_t size) override {
    return transfer(POLLIN, read_until(), [&] {
      return ssl_ ? SSL_read(ssl_, data, static_cast<int>(std::min<size_t>(size, INT32_MAX)))
                  : ::recv(socket_, data, size, 0);
    });
  }
  ssize_t write(const char* data, size_t size) override {
    return transfer(POLLOUT, Clock::now() + limits_.write_timeout, [&] {
      return ssl_ ? SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, INT32_MAX)))
                  : ::send(socket_, data, size, MSG_NOSIGNAL);
    });
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(socket_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(socket_, false, ip, port); }
  socket_t socket() const override { return socket_; }

 private:
  Clock::time_point read_until() const { return std::min(deadline_, Clock::now() + limits_.read_timeout); }

  /// One read or write: retried while the socket would block and time is left.
  template <typename Operation>
  ssize_t transfer(short direction, Clock::time_point until, Operation operation) {
    while (true) {
      ssize_t done = operation();
      if (done > 0 || (done == 0 && !ssl_)) return done;
      short wanted = direction;
      if (ssl_) {
        int error = SSL_get_error(ssl_, static_cast<int>(done));
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (error == SSL_ERROR_WANT_WRITE) wanted = POLLOUT;
        else if (error != SSL_ERROR_WANT_READ) return -1;
        else wanted = POLLIN;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return -1;
      }
      if (!wait_for(socket_, wanted, until)) return -1;
    }
  }

  int socket_;
  SSL* ssl_;
  const ConnectionLimits& limits_;
  Clock::time_point deadline_;
};

/// The TLS handshake, by the request's deadline. Null when it failed.
SSL* accept_tls(int socket, SSL_CTX* context, Clock::time_point deadline) {
  SSL* ssl = SSL_new(context);
  if (ssl == nullptr || SSL_set_fd(ssl, socket) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  while (true) {
    int accepted = SSL_accept(ssl);
    if (accepted == 1) return ssl;
    int error = SSL_get_error(ssl, accepted);
    short wanted = error == SSL_ERROR_WANT_READ ? POLLIN : error == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (wanted == 0 || !wait_for(socket, wanted, deadline)) {
      ERR_clear_error();
      SSL_free(ssl);
      return nullptr;
    }
  }
}

/// A client's slot, given back when the connection ends.
class HeldSlot {
 public:
  HeldSlot(ClientSlots& slots, std::string address)
      : slots_(slots), address_(std::move(address)), held_(slots.take(address_)) {}
  ~HeldSlot() {
    if (held_) slots_.give_back(address_);
  }
  HeldSlot(const HeldSlot&) = delete;
  HeldSlot& operator=(const HeldSlot&) = delete;
  explicit operator bool() const { return held_; }

 private:
  ClientSlots& slots_;
  std::string address_;
  bool held_;
};

bool serve_held(int socket, SSL_CTX* ssl_context, const ConnectionLimits& limits, const RequestServer& serve_request) {
  auto deadline = Clock::now() + limits.request_deadline;
  SSL* ssl = nullptr;
  if (ssl_context != nullptr && (ssl = accept_tls(socket, ssl_context, deadline)) == nullptr) return false;
  DeadlineStream stream(socket, ssl, limits, deadline);
  bool closed = false;
  bool served = serve_request(stream, true, closed, [ssl](httplib::Request& request) { request.ssl = ssl; });
  if (ssl != nullptr) {
    SSL_shutdown(ssl);
    ERR_clear_error();
    SSL_free(ssl);
  }
  return served;
}

}  // namespace

bool ClientSlots::take(const std::string& address) {
  std::lock_guard lock(mutex_);
  int& open = open_[address];
  if (open >= per_client_) return false;
  ++open;
  return true;
}

void ClientSlots::give_back(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (--open_[address] <= 0) open_.erase(address);
}

bool serve_connection(int socket, SSL_CTX* ssl_context, const ConnectionLimits& limits, ClientSlots& slots,
                      const RequestServer& serve_request) {
  std::string client;
  int port = 0;
  address_of(socket, true, client, port);
  bool served = false;
  if (HeldSlot slot(slots, client); !slot) {
    spdlog::warn("HTTP API: `{}` already has {} connections open; closing its next one", client, limits.per_client);
  } else {
    ::fcntl(socket, F_SETFL, ::fcntl(socket, F_GETFL) | O_NONBLOCK);
    // A client whose host vanished (no FIN, no reset) would hold a stream until TCP gave
    // up retransmitting, about 15 minutes: data unacknowledged this long ends it instead.
    unsigned int unacked_ms = static_cast<unsigned int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(limits.unacked_timeout).count());
    ::setsockopt(socket, IPPROTO_TCP, TCP_USER_TIMEOUT, &unacked_ms, sizeof(unacked_ms));
    served = serve_held(socket, ssl_context, limits, serve_request);
  }
  ::shutdown(socket, SHUT_RDWR);
  ::close(socket);
  return served;
}

bool BoundedServer::process_and_close_socket(socket_t socket) {
  return serve_connection(socket, nullptr, limits_, slots_, [this](auto&&... args) { return process_request(args...); });
}

bool BoundedSslServer::process_and_close_socket(socket_t socket) {
  return serve_connection(socket, ssl_context(), limits_, slots_,
                          [this](auto&&... args) { return process_request(args...); });
}

}  // namespace dockmig::agent
