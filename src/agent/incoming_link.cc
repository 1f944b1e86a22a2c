// Accepting a link from another agent. A TLS agent answers a plain client with a plain
// hello and an Error frame, so `dockmig migrate` without certificates reads "this agent
// accepts only TLS" instead of a broken handshake; an --insecure agent just closes on a
// TLS client, whose handshake error then says both ends must agree.
#include "agent/incoming_link.h"


#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"
#include "migrate/session.h"

namespace dockmig::agent {
namespace {

constexpr std::chrono::milliseconds kFirstByteWait{10'000};
constexpr std::chrono::milliseconds kHandshakeReadWait{10'000};  // each read of the TLS handshake

void refuse_plain(transfer::Connection connection) {
  std::string peer = connection.peer();
  Result<migrate::Session> session = migrate::Session::accept(std::move(connection));
  if (!session) return;
  session->abort(make_error(ErrorCode::Unsupported, "this agent accepts only TLS connections",
                            "give `dockmig migrate` --tls-cert, --tls-key and --tls-ca (see `dockmig certs`), "
                            "or start both ends with --insecure"));
  spdlog::warn("refused a plain TCP connection from {}: this agent requires TLS", peer);
}

// Only another agent may send migrations or ask how one ended: a gateway's certificate,
// signed by the same CA, calls the API only. An unmarked certificate (other PKI, or made
// before roles) is taken as an agent's, with a warning.
bool refused_role(transfer::Connection& connection) {
  transfer::CertRole role = connection.peer_role();
  std::string who = connection.peer() + " (" + connection.peer_identity() + ")";
  if (role == transfer::CertRole::Agent) return false;
  if (role == transfer::CertRole::Unmarked) {
    spdlog::warn("the certificate of {} names no dockmig role; taken as an agent's (remake it with `dockmig certs`)",
                 who);
    return false;
  }
  const char* named = role == transfer::CertRole::Gateway ? "a gateway's" : "not an agent's";
  Result<migrate::Session> session = migrate::Session::accept(std::move(connection));
  if (session)
    session->abort(make_error(ErrorCode::InvalidInput,
                              std::string("this agent's link accepts only agent certificates; this one is ") + named,
                              "give `dockmig migrate` the host's agent certificate (`dockmig certs --hosts`); "
                              "a gateway's certificate only calls the HTTP API"));
  spdlog::warn("refused a link from {}: its certificate is {}, not an agent's", who, named);
  return true;
}

Status serve_link(transfer::Connection connection, const transfer::TlsContext* tls,
                  const migrate::DestinationContext& context, Place& handshake, Slots& sessions) {
  std::string peer = connection.peer();
  Result<std::optional<std::byte>> first = connection.peek_byte(kFirstByteWait);
  if (!first || !first->has_value()) return {};  // gone, or silent: nothing to serve
  bool wants_tls = transfer::starts_tls_handshake(**first);
  if (tls != nullptr && !wants_tls) {
    refuse_plain(std::move(connection));
    return {};
  }
  if (tls == nullptr && wants_tls) {
    spdlog::warn("refused a TLS connection from {}: this agent runs --insecure (plain TCP)", peer);
    return {};
  }
  if (tls != nullptr) {
    connection.set_read_timeout(kHandshakeReadWait);
    Status secured = connection.start_tls(*tls);
    if (!secured) return std::move(secured.error()).wrap("refused a connection");
    if (refused_role(connection)) return {};
    spdlog::info("TLS link from {} ({})", peer, connection.peer_identity());
  }
  Result<migrate::Session> session = migrate::Session::accept(std::move(connection));
  if (!session) return std::move(session.error());
  sessions.acquire();
  Place served(sessions);
  handshake.release();
  return migrate::serve_session(*session, context);
}

}  // namespace

void serve_incoming(transfer::Connection connection, const transfer::TlsContext* tls,
                    const migrate::DestinationContext& context, LinkSlots slots) noexcept {
  Place handshake(slots.handshakes);
  std::string peer = connection.peer();
  Status served = base::contain_exceptions("the link from " + peer, [&] {
    return serve_link(std::move(connection), tls, context, handshake, slots.sessions);
  });
  if (!served) spdlog::error("session from {} failed: {}", peer, served.error().describe());
}

}  // namespace dockmig::agent
