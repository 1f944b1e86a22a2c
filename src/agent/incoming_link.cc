// Accepting a link from another agent. A TLS agent answers a plain client with a plain
// hello and an Error frame, so `dockmig migrate` without certificates reads "this agent
// accepts only TLS" instead of a broken handshake; an --insecure agent just closes on a
// TLS client, whose handshake error then says both ends must agree.
#include "agent/incoming_link.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"
#include "migrate/session.h"

namespace dockmig::agent {
namespace {

using Clock = std::chrono::steady_clock;

void refuse_plain(transfer::Connection connection, Clock::time_point deadline) {
  std::string peer = connection.peer();
  Result<migrate::Session> session = migrate::Session::accept(std::move(connection), deadline);
  if (!session) return;
  session->abort(make_error(ErrorCode::Unsupported, "this agent accepts only TLS connections",
                            "give `dockmig migrate` --tls-cert, --tls-key and --tls-ca (see `dockmig certs`), "
                            "or start both ends with --insecure"));
  spdlog::warn("refused a plain TCP connection from {}: this agent requires TLS", peer);
}

// Only another agent may send migrations or ask how one ended: a gateway's certificate,
// signed by the same CA, calls the API only. An unmarked certificate (other PKI, or made
// before roles) is taken as an agent's, with a warning.
bool refused_role(transfer::Connection& connection, Clock::time_point deadline) {
  transfer::CertRole role = connection.peer_role();
  std::string who = connection.peer() + " (" + connection.peer_identity() + ")";
  if (role == transfer::CertRole::Agent) return false;
  if (role == transfer::CertRole::Unmarked) {
    spdlog::warn("the certificate of {} names no dockmig role; taken as an agent's (remake it with `dockmig certs`)",
                 who);
    return false;
  }
  const char* named = role == transfer::CertRole::Gateway ? "a gateway's" : "not an agent's";
  Result<migrate::Session> session = migrate::Session::accept(std::move(connection), deadline);
  if (session)
    session->abort(make_error(ErrorCode::InvalidInput,
                              std::string("this agent's link accepts only agent certificates; this one is ") + named,
                              "give `dockmig migrate` the host's agent certificate (`dockmig certs --hosts`); "
                              "a gateway's certificate only calls the HTTP API"));
  spdlog::warn("refused a link from {}: its certificate is {}, not an agent's", who, named);
  return true;
}

std::chrono::milliseconds time_left(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
}

// Whether `error` is the handshake deadline passing. A peer that took all of it held a
// handshake place that long: said, so that an operator who sees migrations wait can find
// who holds the places.
bool dropped_late(const std::string& peer, const Error& error) {
  if (error.code != ErrorCode::Timeout) return false;
  spdlog::warn("dropped the link from {}: no hello within {} s of connecting ({})", peer,
               migrate::Session::kAcceptHandshakeDeadline.count(), error.message);
  return true;
}

// The first byte, the TLS handshake and the hello share one deadline from the accept, so a
// peer that trickles its bytes cannot hold a handshake place past it.
Status serve_link(transfer::Connection connection, const transfer::TlsContext* tls,
                  const migrate::DestinationContext& context, Place& handshake, Slots& sessions) {
  std::string peer = connection.peer();
  Clock::time_point deadline = Clock::now() + migrate::Session::kAcceptHandshakeDeadline;
  Result<std::optional<std::byte>> first = connection.peek_byte(time_left(deadline));
  if (!first) return {};  // gone before its first byte: nothing to serve
  if (!first->has_value()) {
    dropped_late(peer, make_error(ErrorCode::Timeout, "it sent nothing"));
    return {};
  }
  bool wants_tls = transfer::starts_tls_handshake(**first);
  if (tls != nullptr && !wants_tls) {
    refuse_plain(std::move(connection), deadline);
    return {};
  }
  if (tls == nullptr && wants_tls) {
    spdlog::warn("refused a TLS connection from {}: this agent runs --insecure (plain TCP)", peer);
    return {};
  }
  if (tls != nullptr) {
    Status secured = connection.start_tls(*tls, {}, deadline);
    if (!secured && dropped_late(peer, secured.error())) return {};
    if (!secured) return std::move(secured.error()).wrap("refused a connection");
    if (refused_role(connection, deadline)) return {};
    spdlog::info("TLS link from {} ({})", peer, connection.peer_identity());
  }
  Result<migrate::Session> session = migrate::Session::accept(std::move(connection), deadline);
  if (!session && dropped_late(peer, session.error())) return {};
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
