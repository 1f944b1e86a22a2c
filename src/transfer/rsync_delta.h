// librsync deltas between two versions of a large file, file to file. The destination
// signs its copy of a file once it has the presync version; after the checkpoint the
// source sends only the delta of the new version against that signature.
#pragma once

#include <filesystem>

#include "dockmig/result.h"

namespace dockmig::transfer {

/// Writes the librsync signature of `basis` (block size chosen for its size) to `signature`.
Status write_signature(const std::filesystem::path& basis, const std::filesystem::path& signature);

/// Writes the delta that turns the signed file into `new_file`.
Status write_delta(const std::filesystem::path& signature, const std::filesystem::path& new_file,
                   const std::filesystem::path& delta);

/// Rebuilds the new version from `basis` and `delta` into `out`.
Status apply_delta(const std::filesystem::path& basis, const std::filesystem::path& delta,
                   const std::filesystem::path& out);

}  // namespace dockmig::transfer
