// TLS for the link between agents: TLS 1.3 with mutual authentication, certificates from
// PEM files, one CA for every agent (`dockmig certs` makes a small one). A Connection
// switches to TLS right after connect or accept (Connection::start_tls), so Channel and
// everything above it do not change.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "dockmig/result.h"

struct ssl_ctx_st;
struct ssl_st;

namespace dockmig::transfer {

struct TlsFiles {
  std::string cert;  // this host's certificate (PEM, may carry the chain)
  std::string key;   // its private key (PEM)
  std::string ca;    // the CA that must have signed the peer's certificate (PEM)
};

enum class TlsRole { Client, Server };

/// What a certificate made by `dockmig certs` is for, marked by a subjectAltName URI
/// `dockmig:role=agent` or `dockmig:role=gateway`. Only an agent may use an agent link; a
/// gateway's certificate only calls the HTTP API. Unmarked: made by other PKI, or by
/// `dockmig certs` before roles existed.
enum class CertRole { Unmarked, Agent, Gateway, Other };
inline constexpr const char* kCertRoleUriPrefix = "dockmig:role=";

/// Certificates and settings loaded once and shared by many connections (an SSL_CTX).
/// Both roles verify the peer: a server refuses clients without a certificate of the CA.
class TlsContext {
 public:
  /// Loads and checks the files: each must exist, the key must match the certificate.
  static Result<std::shared_ptr<const TlsContext>> load(const TlsFiles& files, TlsRole role);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  TlsRole role() const { return role_; }
  ssl_ctx_st* native() const { return context_; }

 private:
  TlsContext(ssl_ctx_st* context, TlsRole role) : context_(context), role_(role) {}
  ssl_ctx_st* context_;
  TlsRole role_;
};

/// One TLS session over a connected socket that stays owned by its Connection. Writes use
/// MSG_NOSIGNAL (a vanished peer is an error, not a SIGPIPE), as plain sends do.
class TlsStream {
 public:
  /// Runs the handshake on `fd`, which must be non-blocking: every wait for the peer
  /// polls, and the whole handshake must be done by `deadline` however the peer spaces
  /// its bytes. A client checks that the server's certificate names `peer_name` (a host
  /// name or an IP address).
  static Result<std::unique_ptr<TlsStream>> handshake(int fd, const TlsContext& context, const std::string& peer_name,
                                                      std::chrono::steady_clock::time_point deadline);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// Writes some of `data`; Timeout when the socket's send timeout passed.
  Result<size_t> write_some(std::span<const std::byte> data);
  /// Reads at least one byte, or 0 when the peer closed; Timeout as for plain reads.
  Result<size_t> read_some(std::span<std::byte> buffer);
  /// The common name of the peer's (verified) certificate.
  const std::string& peer_identity() const { return peer_identity_; }
  /// The role the peer's (verified) certificate carries.
  CertRole peer_role() const { return peer_role_; }
  /// The socket's errno behind the last failed read or write, 0 when TLS itself failed.
  int last_errno() const { return last_errno_; }

 private:
  explicit TlsStream(ssl_st* ssl) : ssl_(ssl) {}
  ssl_st* ssl_;
  std::string peer_identity_;
  CertRole peer_role_ = CertRole::Unmarked;
  int last_errno_ = 0;
};

/// A TLS connection starts with a handshake record (0x16); a dockmig hello with 'D'. An
/// agent looks at the first byte to tell a plain client why it is refused.
inline bool starts_tls_handshake(std::byte first) { return first == std::byte{0x16}; }

/// OpenSSL's queued errors for this thread as one line (and clears them).
std::string openssl_errors();

}  // namespace dockmig::transfer
