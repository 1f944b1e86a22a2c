#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace dockmig::cli {

/// Exit statuses of the dockmig command (docs/error-handling.md).
enum ExitStatus : int {
  kExitSuccess = 0,
  kExitFailure = 1,         // failed; the source container is running
  kExitBadInput = 2,
  kExitNeedsAttention = 3,  // the state could not be made safe by itself; see the message
  kExitInterrupted = 130,
};

/// A verb adds its options to its subcommand and returns what runs it.
using VerbRunner = std::function<int()>;
struct Verb {
  const char* name;
  const char* summary;
  VerbRunner (*define)(CLI::App& command);
};

VerbRunner define_doctor(CLI::App& command);

}  // namespace dockmig::cli
