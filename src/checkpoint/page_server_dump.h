// A checkpoint through dockerd whose memory bypasses containerd's content store.
//
// Docker 20.10's checkpoint API takes no CRIU options, and its dump goes CRIU -> a temp
// dir -> tar into containerd's content store (hashed and fsynced) -> untar into the
// container's checkpoints dir: about 5 s per GiB beyond CRIU itself. runc hands
// /etc/criu/runc.conf to CRIU on every dump, so for the length of one dump that file also
// names a CRIU page server on this host: CRIU then sends the memory there, and only the
// small images take Docker's path. The file is put back as it was afterwards, under a
// host-wide lock; a copy kept beside it lets the next dump (or agent) repair it if this
// process died in between. dockerd still makes the checkpoint and owns the container.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "docker/engine_client.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

struct PageServerDumpRequest {
  std::string criu;                     // CRIU binary for the page server (a name on PATH, or a path)
  std::string container_id;
  std::string name;                     // the checkpoint's name
  std::filesystem::path checkpoint_dir; // where dockerd puts it (checkpoint_dir())
  std::filesystem::path pages_dir;      // where the page images go; must outlive the checkpoint
};

class PageServerDump {
 public:
  /// Starts CRIU's page server and lends it runc.conf: all but the dump itself, so that
  /// none of it counts as downtime. Nothing is frozen yet.
  static Result<PageServerDump> prepare(PageServerDumpRequest request);
  PageServerDump(PageServerDump&&) noexcept;
  /// Stops the page server and puts runc.conf back, if dump() did not.
  ~PageServerDump();

  /// Checkpoints the container (it stops once dumped); afterwards the checkpoint dir is
  /// complete, its page images linked to `pages_dir`, so dockerd can restore from it too.
  /// A failed dump leaves the container as dockerd left it (running, unless the error
  /// came after CRIU's kill).
  Status dump(const docker::EngineClient& engine);

 private:
  struct Lent;
  PageServerDump(PageServerDumpRequest request, std::unique_ptr<Lent> lent);
  void release();

  PageServerDumpRequest request_;
  std::unique_ptr<Lent> lent_;  // runc.conf and the page server, while lent
};

/// Puts back a runc.conf left changed by a dockmig that died during a dump; nothing when
/// another dump holds the lock now.
Status repair_runc_criu_config();

}  // namespace dockmig::checkpoint
