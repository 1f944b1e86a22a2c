#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::base {

struct Exit {
  int code = 0;       // exit status, or 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

struct RunOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  /// Extra "NAME=value" entries added to (or overriding) the inherited environment.
  std::vector<std::string> env;
  /// Open fds (above 2) the child keeps across exec, under the same numbers: close-on-exec
  /// is cleared on exactly these, in the child only; other fds keep their flags. One that
  /// is not open makes the child exit 127. (`{}` spares callers that designate only some
  /// fields -Wmissing-field-initializers.)
  std::vector<int> inherit_fds{};
};

/// Runs argv (argv[0] looked up on PATH), capturing stdout and stderr. A non-zero exit is
/// not an error here: callers judge Exit::code. Errors are failures to start and timeouts
/// (the child is killed and reaped before returning).
Result<Exit> run(const std::vector<std::string>& argv, const RunOptions& options = {});

/// The full path of `name` on PATH, or empty.
std::string find_on_path(const std::string& name);

}  // namespace dockmig::base
