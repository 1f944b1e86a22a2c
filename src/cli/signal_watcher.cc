#include "cli/signal_watcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace dockmig::cli {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  if (pipe2(pipe_, O_CLOEXEC) != 0) {
    spdlog::warn("cannot watch for signals (pipe: {}); SIGINT and SIGTERM keep their default effect",
                 std::strerror(errno));
    return;
  }
  fcntl(pipe_[1], F_SETFL, O_NONBLOCK);  // a handler must never block on a full pipe
  write_fd_ = pipe_[1];
  thread_ = std::thread([this] { watch(); });
  struct sigaction action {};
  action.sa_handler = forward;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &action, &previous_[i]);
}

SignalWatcher::~SignalWatcher() {
  if (!thread_.joinable()) return;
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  forward(0);  // the thread's stop
  thread_.join();
  write_fd_ = -1;
  close(pipe_[0]);
  close(pipe_[1]);
}

void SignalWatcher::forward(int signal) {
  int saved_errno = errno;
  unsigned char number = static_cast<unsigned char>(signal);
  [[maybe_unused]] ssize_t written = write(write_fd_, &number, 1);  // a full pipe has one already
  errno = saved_errno;
}

void SignalWatcher::watch() {
  unsigned char number = 0;
  while (true) {
    ssize_t got = read(pipe_[0], &number, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || number == 0) return;
    on_signal_(number);
  }
}

}  // namespace dockmig::cli
