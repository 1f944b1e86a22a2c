// One connection from another agent (a source sending a migration, or asking how one
// ended): TLS with a client certificate of our CA, or plain TCP when this agent runs
// --insecure. The first byte tells a TLS client from a plain one, so each is told, in its
// own protocol, why it is refused.
#pragma once

#include "agent/slots.h"
#include "migrate/destination_migration.h"
#include "transfer/connection.h"
#include "transfer/tls.h"

namespace dockmig::agent {

/// Secures (or refuses) the connection, then serves its session; errors are logged,
/// since nobody waits for them here. Nothing escapes: an exception fails this session
/// only, so the agent's other sessions and the agent itself go on. The caller took a
/// handshake place for it; it is exchanged for a session place once the peer has said
/// hello, and every wait before that is bounded.
void serve_incoming(transfer::Connection connection, const transfer::TlsContext* tls,
                    const migrate::DestinationContext& context, LinkSlots slots) noexcept;

}  // namespace dockmig::agent
