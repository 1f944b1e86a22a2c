// Runs a hostnet test's steps in a child process with a network namespace of its own, so
// that what they change (neighbour entries, iptables rules) never touches the host's.
#pragma once

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dockmig::hostnet {

/// The exit code of `steps` run in a child in a new network namespace: 0 when every step
/// passed, else the code of the step that failed (each test documents its codes); -1 when
/// the child could not be made or did not exit by itself, 10 when unshare failed.
template <typename Steps>
int exit_code_in_private_namespace(Steps steps) {
  pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) ::_exit(::unshare(CLONE_NEWNET) == 0 ? steps() : 10);
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace dockmig::hostnet
