// TCP between agents: a connected socket, and a listener that can be polled so a server
// loop can notice when it should stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dockmig/result.h"
#include "transfer/byte_stream.h"

namespace dockmig::transfer {

class TlsContext;
class TlsStream;
enum class CertRole;  // transfer/tls.h

class Connection {
 public:
  /// Connects to host:port (numeric IPv4/IPv6 or a name), giving up after `timeout`.
  /// Refused / unreachable / timed out are Network errors naming the address.
  static Result<Connection> connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);
  /// Adopts a connected socket, e.g. one end of a socketpair (tests, the fuzzer).
  static Connection adopt(int fd, std::string peer) { return Connection(fd, std::move(peer)); }
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  ~Connection();

  /// Writes all of `data`.
  Status write_all(std::span<const std::byte> data);
  /// Reads exactly buffer.size() bytes; the peer closing before that is an error.
  Status read_exact(std::span<std::byte> buffer);
  /// read_exact, but all of `buffer` must have arrived by `deadline`, however the peer
  /// spaces its bytes: one that trickles them cannot hold a reader past it.
  Status read_exact_by(std::span<std::byte> buffer, std::chrono::steady_clock::time_point deadline);
  /// Reads what is there (at least one byte); 0 when the peer closed.
  Result<size_t> read_some(std::span<std::byte> buffer);
  /// A read that waits longer than this fails (default 120 s).
  void set_read_timeout(std::chrono::milliseconds timeout);
  /// A link that stays silent this long breaks (TCP keepalive and TCP_USER_TIMEOUT), even
  /// while this side only waits: how a resumable link finds out a silent cut in seconds.
  void set_silence_limit(std::chrono::seconds limit);
  /// Whether the last failed read or write found the path to the peer gone (timed out,
  /// reset, unreachable), rather than the peer closing, a timeout of ours, or TLS failing.
  bool link_lost() const;
  /// Of a lost link: whether the peer's host answered with a reset (its process may be
  /// gone, or it gave up on the link first) rather than staying silent.
  bool link_reset() const;
  /// Shuts the socket down both ways; reads and writes after this fail.
  void close();
  /// Bytes written but not yet acknowledged by the peer's host (the socket's send queue);
  /// 0 when it cannot tell.
  uint64_t unacknowledged_bytes() const;
  /// Ends the TCP connection with a reset, so that the peer finds its link lost (and a
  /// resumable one resumes) rather than closed; the fd stays valid until the destructor.
  void reset();
  /// "ADDR:PORT" of the other end.
  const std::string& peer() const { return peer_; }

  /// Switches to TLS with mutual authentication (transfer/tls.h): every read and write
  /// after it is encrypted. A client names the host the server's certificate must carry.
  /// The handshake must be done by `deadline`, however the peer spaces its bytes.
  Status start_tls(const TlsContext& context, const std::string& peer_name,
                   std::chrono::steady_clock::time_point deadline);
  bool secure() const { return tls_ != nullptr; }
  /// The common name of the peer's certificate once secure, else "".
  std::string peer_identity() const;
  /// The role of the peer's certificate once secure, else Unmarked.
  CertRole peer_role() const;
  /// Waits up to `wait` for the peer's first byte and returns it without consuming it;
  /// nullopt when the peer closed or sent nothing in time.
  Result<std::optional<std::byte>> peek_byte(std::chrono::milliseconds wait);

 private:
  friend class Listener;
  Connection(int fd, std::string peer);
  void note_failure(int error) { failure_errno_ = error; }
  int fd_ = -1;
  int failure_errno_ = 0;  // errno of the last failed read or write
  std::string peer_;
  std::unique_ptr<TlsStream> tls_;  // set once start_tls succeeded
};

class Listener {
 public:
  /// Listens on host:port; port 0 picks a free one (see port()).
  static Result<Listener> listen(const std::string& host, uint16_t port);
  /// Binds host:port without listening yet: the port is this process's (a second agent
  /// fails here), but a connection to it is refused until open().
  static Result<Listener> reserve(const std::string& host, uint16_t port);
  /// Starts listening on the reserved port.
  Status open();
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  ~Listener();

  /// Waits up to `wait` for a connection; nullopt when none came.
  Result<std::optional<Connection>> accept_for(std::chrono::milliseconds wait);
  uint16_t port() const { return port_; }

 private:
  Listener(int fd, uint16_t port) : fd_(fd), port_(port) {}
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace dockmig::transfer
