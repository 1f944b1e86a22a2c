// Reading a file's whole text, with errors that name the file and say why.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "dockmig/result.h"

namespace dockmig::base {

/// The whole text of `path`; an error (NotFound if it is absent, Io otherwise) names the
/// path and errno's text.
Result<std::string> read_text_file(const std::filesystem::path& path);

/// As read_text_file, for a file that may not exist: absent is nullopt, not an error.
Result<std::optional<std::string>> read_text_file_if_exists(const std::filesystem::path& path);

}  // namespace dockmig::base
