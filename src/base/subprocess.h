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
};

/// Runs argv (argv[0] looked up on PATH), capturing stdout and stderr. A non-zero exit is
/// not an error here: callers judge Exit::code. Errors are failures to start and timeouts
/// (the child is killed and reaped before returning).
Result<Exit> run(const std::vector<std::string>& argv, const RunOptions& options = {});

/// The full path of `name` on PATH, or empty.
std::string find_on_path(const std::string& name);

}  // namespace dockmig::base
