// TLS 1.3 with mutual authentication on an agent link. Both ends are dockmig, so nothing
// older is offered, no session tickets are sent (one connection per migration), and a peer
// that closes without close_notify reads as a plain end of stream: the protocol above
// frames and checksums everything, so a cut is detected there. OpenSSL's socket BIO writes
// with write(), which raises SIGPIPE on a vanished peer; ours sends with MSG_NOSIGNAL.
#include "transfer/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace dockmig::transfer {
namespace {

int send_nosignal(BIO* bio, const char* data, int length) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  ssize_t sent = ::send(fd, data, static_cast<size_t>(length), MSG_NOSIGNAL);
  BIO_clear_retry_flags(bio);
  if (sent <= 0 && BIO_sock_should_retry(static_cast<int>(sent))) BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

/// OpenSSL's socket BIO with its write replaced by send_nosignal.
BIO_METHOD* nosignal_socket_method() {
  static BIO_METHOD* method = [] {
    const BIO_METHOD* socket = BIO_s_socket();
    BIO_METHOD* copy = BIO_meth_new(BIO_TYPE_SOCKET, "dockmig socket");
    BIO_meth_set_write(copy, send_nosignal);
    BIO_meth_set_read(copy, BIO_meth_get_read(socket));
    BIO_meth_set_puts(copy, BIO_meth_get_puts(socket));
    BIO_meth_set_ctrl(copy, BIO_meth_get_ctrl(socket));
    BIO_meth_set_create(copy, BIO_meth_get_create(socket));
    BIO_meth_set_destroy(copy, BIO_meth_get_destroy(socket));
    return copy;
  }();
  return method;
}

Status check_readable(const std::string& path, const char* what) {
  std::error_code ec;
  if (path.empty())
    return make_error(ErrorCode::InvalidInput, std::string("no TLS ") + what + " file given",
                      "make certificates with `dockmig certs --dir DIR --hosts NAME=ADDR,...`");
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(ErrorCode::InvalidInput, std::string("TLS ") + what + " `" + path + "` is not a readable file",
                      "check the path; `dockmig certs` makes a CA and host certificates");
  return {};
}

bool is_ip_address(const std::string& name) {
  unsigned char address[16];
  return inet_pton(AF_INET, name.c_str(), address) == 1 || inet_pton(AF_INET6, name.c_str(), address) == 1;
}

std::string common_name(X509* certificate) {
  char name[256] = "";
  if (certificate != nullptr)
    X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof name);
  return name;
}

CertRole role_named(std::string_view role) {
  if (role == "agent") return CertRole::Agent;
  if (role == "gateway") return CertRole::Gateway;
  return CertRole::Other;
}

CertRole certificate_role(X509* certificate) {
  if (certificate == nullptr) return CertRole::Unmarked;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  CertRole role = CertRole::Unmarked;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)),
                         static_cast<size_t>(ASN1_STRING_length(name->d.uniformResourceIdentifier)));
    if (!uri.starts_with(kCertRoleUriPrefix)) continue;
    CertRole named = role_named(uri.substr(std::string_view(kCertRoleUriPrefix).size()));
    role = role == CertRole::Unmarked || role == named ? named : CertRole::Other;  // two roles: trust neither
  }
  GENERAL_NAMES_free(names);
  return role;
}

Error handshake_error(ssl_st* ssl, int rc, TlsRole role, const std::string& peer_name) {
  int reason = SSL_get_error(ssl, rc);
  int saved_errno = errno;
  long verified = SSL_get_verify_result(ssl);
  std::string errors = openssl_errors();
  const char* side = role == TlsRole::Client ? "the agent's" : "the client's";
  if (verified != X509_V_OK) {
    std::string what = std::string(side) + " certificate was refused: " + X509_verify_cert_error_string(verified);
    std::string hint = role == TlsRole::Client
                           ? "it must be signed by the CA given with --tls-ca and name `" + peer_name +
                                 "` (see `dockmig certs`, or --tls-server-name)"
                           : "the source must use a certificate signed by this agent's --tls-ca";
    return make_error(ErrorCode::Network, "TLS handshake failed: " + what, hint);
  }
  std::string why = errors.empty() ? (reason == SSL_ERROR_SYSCALL && saved_errno != 0
                                          ? std::string(std::strerror(saved_errno))
                                          : std::string("the peer closed the connection"))
                                   : errors;
  return make_error(ErrorCode::Network, "TLS handshake failed: " + why,
                    "both ends need certificates of the same CA (--tls-cert, --tls-key, --tls-ca), "
                    "or both must run with --insecure");
}

/// Waits until `fd` is ready for what the handshake wants (`reason`, SSL_ERROR_WANT_*) or
/// `deadline` passed: false when it passed.
bool await_handshake_io(int fd, int reason, std::chrono::steady_clock::time_point deadline) {
  pollfd waiting{fd, static_cast<short>(reason == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
  while (true) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int ready = poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;  // readable, writable, or an error the next try reports
    if (ready < 0 && errno != EINTR) return true;
  }
}

Error handshake_late() {
  return make_error(ErrorCode::Timeout, "TLS handshake did not finish in time",
                    "is the other end a dockmig agent using TLS?");
}

}  // namespace

std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!text.empty()) text += "; ";
    text += reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
  }
  return text;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::load(const TlsFiles& files, TlsRole role) {
  const std::pair<const std::string*, const char*> needed[] = {
      {&files.cert, "certificate"}, {&files.key, "key"}, {&files.ca, "CA"}};
  for (const auto& [path, what] : needed)
    if (Status readable = check_readable(*path, what); !readable) return std::move(readable.error());
  SSL_CTX* context = SSL_CTX_new(role == TlsRole::Client ? TLS_client_method() : TLS_server_method());
  if (context == nullptr) return make_error(ErrorCode::Internal, "cannot set up TLS: " + openssl_errors());
  std::shared_ptr<const TlsContext> owner(new TlsContext(context, role));
  SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
  SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(context, 0);
  if (SSL_CTX_use_certificate_chain_file(context, files.cert.c_str()) != 1)
    return make_error(ErrorCode::InvalidInput, "cannot load TLS certificate `" + files.cert + "`: " + openssl_errors(),
                      "it must be a PEM certificate, e.g. one made by `dockmig certs`");
  if (SSL_CTX_use_PrivateKey_file(context, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(ErrorCode::InvalidInput, "cannot load TLS key `" + files.key + "`: " + openssl_errors(),
                      "it must be the PEM private key of --tls-cert");
  if (SSL_CTX_check_private_key(context) != 1)
    return make_error(ErrorCode::InvalidInput, "TLS key `" + files.key + "` does not belong to `" + files.cert + "`: " +
                                                   openssl_errors());
  if (SSL_CTX_load_verify_locations(context, files.ca.c_str(), nullptr) != 1)
    return make_error(ErrorCode::InvalidInput, "cannot load TLS CA `" + files.ca + "`: " + openssl_errors(),
                      "it must be the PEM certificate of the CA that signed every agent's certificate");
  int verify = SSL_VERIFY_PEER;
  if (role == TlsRole::Server) {
    verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_client_CA_list(context, SSL_load_client_CA_file(files.ca.c_str()));
  }
  SSL_CTX_set_verify(context, verify, nullptr);
  return owner;
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

Result<std::unique_ptr<TlsStream>> TlsStream::handshake(int fd, const TlsContext& context, const std::string& peer_name,
                                                        std::chrono::steady_clock::time_point deadline) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.native());
  if (ssl == nullptr) return make_error(ErrorCode::Internal, "cannot set up TLS: " + openssl_errors());
  std::unique_ptr<TlsStream> stream(new TlsStream(ssl));
  BIO* bio = BIO_new(nosignal_socket_method());
  if (bio == nullptr) return make_error(ErrorCode::Internal, "cannot set up TLS: " + openssl_errors());
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);
  if (context.role() == TlsRole::Client && !peer_name.empty()) {
    // The server's certificate must name what we dialled: a stolen certificate of another
    // edge host, signed by the same CA, must not receive this host's containers.
    bool named = is_ip_address(peer_name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer_name.c_str()) == 1
                                          : SSL_set1_host(ssl, peer_name.c_str()) == 1 &&
                                                SSL_set_tlsext_host_name(ssl, peer_name.c_str()) == 1;
    if (!named) return make_error(ErrorCode::InvalidInput, "`" + peer_name + "` is not a host name or address to check a certificate against");
  }
  while (true) {
    int rc = context.role() == TlsRole::Client ? SSL_connect(ssl) : SSL_accept(ssl);
    if (rc == 1) break;
    int reason = SSL_get_error(ssl, rc);
    if (reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE)
      return handshake_error(ssl, rc, context.role(), peer_name);
    if (!await_handshake_io(fd, reason, deadline)) return handshake_late();
  }
  X509* peer = SSL_get0_peer_certificate(ssl);
  stream->peer_identity_ = common_name(peer);
  stream->peer_role_ = certificate_role(peer);
  return stream;
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

Result<size_t> TlsStream::write_some(std::span<const std::byte> data) {
  while (true) {
    ERR_clear_error();
    errno = 0;
    int length = static_cast<int>(std::min<size_t>(data.size(), INT_MAX));
    int sent = SSL_write(ssl_, data.data(), length);
    if (sent > 0) return static_cast<size_t>(sent);
    int reason = SSL_get_error(ssl_, sent);
    if (errno == EINTR) continue;
    if (reason == SSL_ERROR_WANT_WRITE || reason == SSL_ERROR_WANT_READ)
      return make_error(ErrorCode::Timeout, "TLS write timed out");
    last_errno_ = reason == SSL_ERROR_SYSCALL ? errno : 0;
    std::string why = reason == SSL_ERROR_SYSCALL && errno != 0 ? std::strerror(errno) : openssl_errors();
    return make_error(ErrorCode::Network, "TLS: " + (why.empty() ? std::string("the connection broke") : why));
  }
}

Result<size_t> TlsStream::read_some(std::span<std::byte> buffer) {
  while (true) {
    ERR_clear_error();
    errno = 0;
    int length = static_cast<int>(std::min<size_t>(buffer.size(), INT_MAX));
    int got = SSL_read(ssl_, buffer.data(), length);
    if (got > 0) return static_cast<size_t>(got);
    int reason = SSL_get_error(ssl_, got);
    if (reason == SSL_ERROR_ZERO_RETURN) return size_t{0};
    if (errno == EINTR) continue;
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE)
      return make_error(ErrorCode::Timeout, "TLS read timed out");
    if (reason == SSL_ERROR_SYSCALL && errno == 0) return size_t{0};  // end of stream without close_notify
    last_errno_ = reason == SSL_ERROR_SYSCALL ? errno : 0;
    std::string why = reason == SSL_ERROR_SYSCALL ? std::strerror(errno) : openssl_errors();
    // In TLS 1.3 a server judges the client's certificate after the client's handshake
    // is done: its refusal arrives as an alert on the first read.
    if (why.find("alert") != std::string::npos &&
        (why.find("certificate") != std::string::npos || why.find("unknown ca") != std::string::npos))
      return make_error(ErrorCode::Network, "TLS: the peer refused this host's certificate (" + why + ")",
                        "the certificate (--tls-cert) must be signed by the CA the peer trusts (its --tls-ca)");
    return make_error(ErrorCode::Network, "TLS: " + (why.empty() ? std::string("the connection broke") : why));
  }
}

}  // namespace dockmig::transfer
