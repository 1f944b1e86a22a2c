// Files replaced whole or not at all, and durable once written: what a crash must not
// half-do. The text goes to a temporary file beside the target, which is fsync'd and then
// renamed over it; the directory is fsync'd too, so the rename itself survives a power
// loss.
#pragma once

#include <filesystem>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::base {

/// Replaces `path` with `text` atomically and durably (temp file, fsync, rename, fsync dir).
Status write_file_atomically(const std::filesystem::path& path, std::string_view text);

/// Removes `path` (absent is fine) and makes the removal durable (fsync of its directory).
Status remove_file_durably(const std::filesystem::path& path);

/// Creates `dir` and its parents and makes their entries durable.
Status create_directories_durably(const std::filesystem::path& dir);

}  // namespace dockmig::base
