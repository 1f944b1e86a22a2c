#include "migrate/freeze_round.h"

#include "base/exception_boundary.h"

namespace dockmig::migrate {

FreezeRoundThread::~FreezeRoundThread() { join(); }

void FreezeRoundThread::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    status_ = base::contain_exceptions("the pre-copy round during the freeze", [this] {
      return sender_.run_freeze_round(dump_ended_, phase_, progress_, report_);
    });
  });
}

void FreezeRoundThread::join() {
  dump_ended_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

Status FreezeRoundThread::finish() {
  join();
  if (!status_) return std::move(status_);
  return sender_.end_rounds();
}

}  // namespace dockmig::migrate
