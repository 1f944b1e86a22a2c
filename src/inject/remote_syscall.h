// System calls made by another process, as that process: how dockmig creates a
// userfaultfd inside a container's process and closes it there again. ptrace seizes one
// of its threads, points it at a `syscall` instruction already in its memory
// (nothing in the process is written), single-steps it, and puts every register back; a
// system call the thread was blocked in restarts as if it had only been interrupted.
// Seccomp is suspended for the injected calls only (PTRACE_O_SUSPEND_SECCOMP: Docker's
// default profile forbids userfaultfd). x86_64 only; elsewhere seize() says so.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>

#include "dockmig/result.h"

namespace dockmig::inject {

class RemoteProcess {
 public:
  /// Stops thread `tid` and makes it ready to run system calls for us.
  static Result<RemoteProcess> seize(int tid);
  RemoteProcess(RemoteProcess&& other) noexcept;
  RemoteProcess& operator=(RemoteProcess&&) = delete;
  /// Lets the thread go on exactly where it was.
  ~RemoteProcess();

  /// Runs system call `number` with `args` in the process; its return value (a negative
  /// errno is a value, not an error: the call ran and failed).
  Result<long> syscall(long number, const std::array<uint64_t, 6>& args = {});

 private:
  RemoteProcess(int tid, uint64_t syscall_ip);
  void release();

  int tid_ = 0;  // 0 once released
  uint64_t syscall_ip_ = 0;
  user_regs_struct saved_{};  // the thread's registers at the stop
};

}  // namespace dockmig::inject
