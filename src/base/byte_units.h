#pragma once

#include <cstdint>
#include <string>

#include "dockmig/result.h"

namespace dockmig::base {

/// A size as a person reads it: "812 B", "96.0 KiB", "153.4 MiB".
std::string human_bytes(uint64_t bytes);
/// "512M", "2G", "1048576", "0": bytes, with an optional K/M/G/T suffix (powers of 1024,
/// an optional trailing "B" or "iB").
Result<uint64_t> parse_byte_size(const std::string& text);

}  // namespace dockmig::base
