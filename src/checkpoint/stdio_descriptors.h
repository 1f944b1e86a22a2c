// runc's descriptors.json: what the container's first process had as stdin, stdout and
// stderr when runc started it ("pipe:[N]", "/dev/null"...). `runc restore` reads it from
// the checkpoint to hand the new stdio pipes to CRIU in place of the old ones. runc writes
// it into its own images dir, which through Docker is containerd's, not the one dockmig
// lends CRIU; so dockmig writes the same file itself, before the freeze.
#pragma once

#include <filesystem>
#include <string>

#include "dockmig/result.h"

namespace dockmig::checkpoint {

inline constexpr const char* kDescriptorsFile = "descriptors.json";

/// The bundle dir of the containerd task whose first process is `pid` (its shim's
/// working dir).
Result<std::filesystem::path> task_bundle_dir(int pid);

/// The JSON array runc recorded for the container at its start (its state.json), or,
/// where that cannot be found, the same read from /proc now.
Result<std::string> stdio_descriptors(int pid, const std::string& container_id);

/// Writes stdio_descriptors() as `dir`/descriptors.json.
Status write_descriptors_file(const std::filesystem::path& dir, int pid, const std::string& container_id);

}  // namespace dockmig::checkpoint
