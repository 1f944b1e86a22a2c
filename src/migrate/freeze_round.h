// The pre-copy round during the freeze (PrecopySender::run_freeze_round) on a thread of its
// own: it starts when CRIU's log says the container's tasks are seized, and sends the pages
// the container keeps writing while the caller's thread follows the dump to its end. For a
// container that rewrites the same buffers all the time (face: ~700 pages a round), those
// pages then cross beside CRIU's dump instead of after it.
#pragma once

#include <atomic>
#include <thread>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "migrate/memory_sync.h"
#include "migrate/progress.h"

namespace dockmig::migrate {

class FreezeRoundThread {
 public:
  FreezeRoundThread(PrecopySender& sender, PhaseReport& phase, Progress& progress, MemoryReport& report)
      : sender_(sender), phase_(phase), progress_(progress), report_(report) {}
  FreezeRoundThread(const FreezeRoundThread&) = delete;
  FreezeRoundThread& operator=(const FreezeRoundThread&) = delete;
  /// Ends and joins the round if finish() did not.
  ~FreezeRoundThread();

  /// Starts the round; at most once.
  void start();
  /// The dump ended (or failed): the round stops reading, sends what it read and ends;
  /// then the rounds end ("precopy-end"). Its error, if any.
  Status finish();

 private:
  void join();

  PrecopySender& sender_;
  PhaseReport& phase_;
  Progress& progress_;
  MemoryReport& report_;
  std::atomic<bool> dump_ended_{false};
  std::thread thread_;
  Status status_;
};

}  // namespace dockmig::migrate
