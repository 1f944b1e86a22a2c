// A checkpoint through dockerd to which dockmig lends CRIU's configuration for one dump.
//
// Docker 20.10's checkpoint API takes no CRIU options, and its dump goes CRIU -> a temp
// dir -> tar into containerd's content store (hashed and fsynced) -> untar into the
// container's checkpoints dir: about 5 s per GiB beyond CRIU itself. It also deletes
// CRIU's work dir, log and stats with it, before it returns. runc hands
// /etc/criu/runc.conf to CRIU on every dump, so for the length of one dump that file
// names a work dir of dockmig's (the log and stats survive, and the report can split
// CRIU's time from Docker's) and, when asked, a CRIU page server on this host: CRIU then
// sends the memory there, and only the small images take Docker's path. The file is put
// back as it was afterwards, under a host-wide lock; a copy kept beside it lets the next
// dump (or agent) repair it if this process died in between. dockerd still makes the
// checkpoint and owns the container.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "checkpoint/criu_log.h"
#include "docker/engine_client.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

struct DumpRequest {
  std::string criu;                     // CRIU binary for the page server (a name on PATH, or a path)
  std::string container_id;
  std::string name;                     // the checkpoint's name
  std::filesystem::path checkpoint_dir; // where dockerd puts it (checkpoint_dir())
  std::filesystem::path pages_dir;      // where the page images go, through a page server; must
                                        // outlive the checkpoint. Empty: Docker's own path
  std::filesystem::path work_dir{};     // CRIU's log and stats. Empty: Docker's (deleted)
};

class Dump {
 public:
  /// Lends runc.conf and starts the page server if there is one: all but the dump itself,
  /// so that none of it counts as downtime. Nothing is frozen yet.
  static Result<Dump> prepare(DumpRequest request);
  Dump(Dump&&) noexcept;
  /// Stops the page server and puts runc.conf back, if dump() did not.
  ~Dump();

  /// Checkpoints the container (it stops once dumped); afterwards the checkpoint dir is
  /// complete, its page images linked to `pages_dir`, so dockerd can restore from it too.
  /// A failed dump leaves the container as dockerd left it (running, unless the error
  /// came after CRIU's kill), and carries the error lines of CRIU's log.
  Status dump(const docker::EngineClient& engine);

  /// What CRIU's log and stats in the work dir say of the dump, once it succeeded.
  Result<CriuDumpTimes> criu_times() const;

 private:
  struct Lent;
  Dump(DumpRequest request, std::unique_ptr<Lent> lent);
  void release();

  DumpRequest request_;
  std::unique_ptr<Lent> lent_;  // runc.conf and the page server, while lent
};

/// Puts back a runc.conf left changed by a dockmig that died during a dump; nothing when
/// another dump holds the lock now.
Status repair_runc_criu_config();

}  // namespace dockmig::checkpoint
