// SIGINT and SIGTERM as calls on a thread of their own, for commands that must stop
// cleanly (`migrate`, `fleet watch`).
#pragma once

#include <signal.h>

#include <functional>
#include <iterator>
#include <thread>

namespace dockmig::cli {

/// Turns SIGINT and SIGTERM into calls of `on_signal` on a thread of its own, for as long
/// as it lives. The handler only writes the signal's number into a pipe, about all that a
/// handler may safely do; the thread does the rest. SA_RESTART keeps the command's own
/// system calls from failing with EINTR.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM};

  static void forward(int signal);
  void watch();

  static inline int write_fd_ = -1;  // one watcher at a time: the handler has no other way in
  int pipe_[2] = {-1, -1};
  std::function<void(int)> on_signal_;
  struct sigaction previous_[std::size(kSignals)] {};
  std::thread thread_;
};

}  // namespace dockmig::cli
