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
// dump (or agent) repair it if this process died in between. The file also names an
// images dir of dockmig's: CRIU writes the whole checkpoint there, Docker's own copy
// holds only runc's descriptors.json, and the images can move on while Docker's call
// winds down. dockerd still makes the checkpoint and owns the container.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/criu_log.h"
#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

struct DumpRequest {
  std::string criu;                     // CRIU binary for the page server (a name on PATH, or a path)
  std::string container_id;
  int pid = 0;                          // the container's first process, for its stdio
  std::string name;                     // the checkpoint's name
  std::filesystem::path checkpoint_dir; // where dockerd puts it (checkpoint_dir())
  std::filesystem::path images_dir;     // where CRIU writes every image instead; must outlive
                                        // the checkpoint, whose dir links to it
  std::filesystem::path work_dir;       // CRIU's log and stats (Docker's own are deleted)
  bool page_server = false;             // the memory through a page server into images_dir
  TcpMode tcp = TcpMode::Close;         // every restore of this checkpoint needs the same
  std::vector<std::string> external_masks;  // runc's masked dirs lent as external mounts, only when
                                            // both ends can map their key (masked_mounts.h)
};

class Dump {
 public:
  /// Lends runc.conf, starts the page server if asked for, and writes runc's
  /// descriptors.json: all but the dump itself, so that none of it counts as downtime.
  /// Nothing is frozen yet.
  static Result<Dump> prepare(DumpRequest request);
  Dump(Dump&&) noexcept;
  /// Waits for Docker's call, stops the page server and puts runc.conf back, if finish()
  /// did not.
  ~Dump();

  /// Starts Docker's checkpoint call and returns as soon as CRIU says the dump finished
  /// (runc.conf is then put back):
  /// every image is in images_dir() and the container's tasks are killed, while the call
  /// still winds down (containerd packs its own copy of the checkpoint, dockerd sees the
  /// exit) for 0.2-0.6 s that need not be downtime. A failed dump leaves the container as
  /// dockerd left it (running, unless the error came after CRIU's kill), and carries the
  /// error lines of CRIU's log. `on_seized`, if given, is called on this thread once
  /// CRIU's log says it seized the container's tasks (frozen until the dump ends); it must
  /// return at once.
  Status dump_images(const docker::EngineClient& engine, const std::function<void()>& on_seized = {});

  /// Waits for Docker's call to end and fills its checkpoint dir from images_dir() (links
  /// for the page images), so that dockerd can resume the container from it. An error
  /// here, after dump_images() succeeded, leaves the images whole but dockerd without them.
  Status finish();

  /// Where the complete checkpoint is once dump_images() succeeded.
  const std::filesystem::path& images_dir() const { return request_.images_dir; }
  /// What CRIU's log and stats in the work dir say of the dump, once it succeeded.
  Result<CriuDumpTimes> criu_times() const;
  /// Docker's call before and after CRIU, once finish() returned.
  std::optional<AroundCriu> around_criu() const;

 private:
  struct Lent;
  struct Call;
  Dump(DumpRequest request, std::unique_ptr<Lent> lent);
  void release();

  DumpRequest request_;
  std::unique_ptr<Lent> lent_;  // runc.conf and the page server, while lent
  std::unique_ptr<Call> call_;  // Docker's checkpoint call, once started
  bool dumped_ = false;         // CRIU finished its images
};

/// Makes dockerd's checkpoint dir whole from the images CRIU wrote to `images_dir` (the
/// page images as links), so that dockerd can resume the container from it; nothing when
/// it is whole already. finish() does it, and so does a recovery after a dockmig that
/// died before.
Status fill_checkpoint_dir(const std::filesystem::path& checkpoint_dir, const std::filesystem::path& images_dir);

}  // namespace dockmig::checkpoint
