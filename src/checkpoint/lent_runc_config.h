// runc hands /etc/criu/runc.conf to CRIU on every checkpoint and restore; Docker's API has
// no other way to give CRIU options. dockmig lends the file lines of its own for the
// length of one dump or restore, under a host-wide lock, and puts it back as it was; a
// copy kept beside it lets the next lender (or agent) repair it if a process died in
// between. Every lend also tells CRIU what to do with the clients' TCP connections, and
// drops connections still in a listen queue (without these CRIU refuses to dump a busy
// service). By default it closes them at the freeze and restores them closed, unless the
// host's file already says; a migration with TcpMode::Established has them dumped and
// restored open instead, overriding a tcp-close of the host's file for that one lend
// (the dump and every restore of its checkpoint need the same option).
#pragma once

#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// runc.conf with lines added, for as long as this object lives.
class LentRuncConfig {
 public:
  /// Waits for the lock, then adds `lines` and the TCP options `tcp` needs.
  static Result<LentRuncConfig> install(const std::string& lines, TcpMode tcp = TcpMode::Close);
  LentRuncConfig(LentRuncConfig&&) = default;
  ~LentRuncConfig();

 private:
  explicit LentRuncConfig(base::UniqueFd lock) : lock_(std::move(lock)) {}
  base::UniqueFd lock_;
};

/// The lines a lend adds for TCP to a runc.conf that holds `original` (nothing if absent).
std::string lent_tcp_lines(const std::string& original, TcpMode tcp = TcpMode::Close);

/// The whole lent file: `original` (with its tcp-close lines commented out when `tcp` keeps
/// connections), then `lines`, then lent_tcp_lines.
std::string lent_config_text(const std::optional<std::string>& original, const std::string& lines, TcpMode tcp);

/// Puts back a runc.conf left changed by a dockmig that died during a lend; nothing when
/// another lend holds the lock now.
Status repair_runc_criu_config();

}  // namespace dockmig::checkpoint
