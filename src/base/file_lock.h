// An exclusive lock between processes on one file: the agent and `dockmig migrate` run by
// hand share a state dir, and each read-modify-write of a file in it takes this first.
#pragma once

#include <filesystem>

#include "base/unique_fd.h"
#include "dockmig/result.h"

namespace dockmig::base {

/// Opens (creating it) `file` and takes an exclusive flock on it, waiting for another
/// holder; closing the returned fd releases it.
Result<UniqueFd> lock_exclusively(const std::filesystem::path& file);

}  // namespace dockmig::base
