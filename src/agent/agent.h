#pragma once

#include <string>

#include "dockmig/result.h"

namespace dockmig::agent {

struct AgentOptions {
  std::string listen;        // ADDR:PORT
  std::string docker;        // the local dockerd's socket
  std::string state_dir = "/var/lib/dockmig";
  int max_sessions = 4;      // concurrent migrations; further connections wait
};

/// Runs the receiving agent until SIGINT or SIGTERM. Each connection from a source is one
/// migration (or one question about how a migration ended), served on its own thread.
Status serve(const AgentOptions& options);

}  // namespace dockmig::agent
