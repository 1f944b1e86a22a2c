// A restore that starts before its memory is in. Docker's start from a checkpoint spends
// its first part (dockerd's mounts and sandbox, containerd, the shim, runc, and inside
// CRIU the namespaces and dockerd's network hook) without reading a page; that part can
// run while the page images still cross the link. runc gives CRIU /etc/criu/runc.conf, so
// a lent `action-script` line makes CRIU run this gate at each stage of the restore: at
// `pre-restore` it notes that CRIU has read its options (the lend can go back), and at
// `post-setup-namespaces`, the last stage before any process reads its memory
// (criu/cr-restore.c), it waits until dockmig opens the gate or fails it. A failed gate,
// or an agent that died, fails CRIU's restore, and the page images exist under their
// names only once verified, so nothing ever restores from memory that is not whole.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>

#include "dockmig/result.h"

namespace dockmig::checkpoint {

class RestoreGate {
 public:
  /// Writes the gate's script into `dir` (made afresh; it must allow executing files: the
  /// container's dir under dockerd's root does) and its marker into `images_dir`, the
  /// checkpoint the restore reads. The gate fails once `agent` has ended.
  static Result<RestoreGate> create(const std::filesystem::path& dir, const std::filesystem::path& images_dir,
                                    pid_t agent = ::getpid());
  RestoreGate(RestoreGate&& other) noexcept
      : dir_(std::exchange(other.dir_, {})), decided_(other.decided_) {}
  RestoreGate& operator=(RestoreGate&&) = delete;
  /// Fails the gate unless it was opened, and removes it: its owner makes sure first that
  /// the restore has ended (early_restore.h).
  ~RestoreGate();

  /// The runc.conf line that makes the next restore pass through this gate.
  std::string restore_config_lines() const;
  /// Whether CRIU has started the restore (and so has read runc.conf).
  bool criu_started() const;
  /// Lets CRIU go on: the page images are whole and the copy may run.
  Status open();
  /// Makes a waiting (or later) CRIU fail the restore.
  void fail();

 private:
  explicit RestoreGate(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  bool decided_ = false;
};

}  // namespace dockmig::checkpoint
