#pragma once

#include <cstdint>
#include <string>

namespace dockmig::base {

/// A size as a person reads it: "812 B", "96.0 KiB", "153.4 MiB".
std::string human_bytes(uint64_t bytes);

}  // namespace dockmig::base
