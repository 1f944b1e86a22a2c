// runc hands /etc/criu/runc.conf to CRIU on every checkpoint and restore; Docker's API has
// no other way to give CRIU options. dockmig lends the file lines of its own for the
// length of one dump or restore, under a host-wide lock, and puts it back as it was; a
// copy kept beside it lets the next lender (or agent) repair it if a process died in
// between. Every lend also tells CRIU what to do with the clients' TCP connections, unless
// the host's file already says: close them at the freeze and restore them closed (they
// cannot follow the container to a host with another address), and drop connections
// still in a listen queue. Without these CRIU refuses to dump a busy service.
#pragma once

#include <string>

#include "base/unique_fd.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// runc.conf with lines added, for as long as this object lives.
class LentRuncConfig {
 public:
  /// Waits for the lock, then adds `lines` and the TCP options the file lacks.
  static Result<LentRuncConfig> install(const std::string& lines);
  LentRuncConfig(LentRuncConfig&&) = default;
  ~LentRuncConfig();

 private:
  explicit LentRuncConfig(base::UniqueFd lock) : lock_(std::move(lock)) {}
  base::UniqueFd lock_;
};

/// The lines a lend adds for TCP to a runc.conf that holds `original` (nothing if absent).
std::string lent_tcp_lines(const std::string& original);

/// Puts back a runc.conf left changed by a dockmig that died during a lend; nothing when
/// another lend holds the lock now.
Status repair_runc_criu_config();

}  // namespace dockmig::checkpoint
