// Two ends of a real session over a socketpair, for tests of both sides of a transfer.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "migrate/session.h"
#include "transfer/connection.h"

namespace dockmig::migrate::testing {

struct Ends {
  Status source, destination;
};

/// Runs `source` and `destination` on the two ends of a fresh session.
inline Ends converse(const std::function<Status(Session&)>& source,
                     const std::function<Status(Session&)>& destination) {
  int ends[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), 0);
  Ends result;
  std::thread far([&] {
    Result<Session> session = Session::accept(transfer::Connection::adopt(ends[1], "source"));
    result.destination = session ? destination(*session) : Status(std::move(session.error()));
  });
  {
    Result<Session> session = Session::accept(transfer::Connection::adopt(ends[0], "destination"));
    result.source = session ? source(*session) : Status(std::move(session.error()));
  }  // closing this end ends a destination still waiting
  far.join();
  return result;
}

}  // namespace dockmig::migrate::testing
