#include "base/byte_units.h"

#include <cctype>
#include <cstdio>
#include <regex>

namespace dockmig::base {

std::string human_bytes(uint64_t bytes) {
  char text[32];
  if (bytes < 10 * 1024) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < 10 * 1024 * 1024) std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(text, sizeof text, "%.1f MiB", bytes / 1048576.0);
  return text;
}


Result<uint64_t> parse_byte_size(const std::string& text) {
  static const std::regex kSize("([0-9]{1,20})([KMGT]?)(i?B)?", std::regex::icase);
  std::smatch match;
  auto refuse = [&] {
    return make_error(ErrorCode::InvalidInput, "`" + text + "` is not a size",
                      "give bytes, or a number with K, M, G or T (powers of 1024), e.g. 512M");
  };
  if (!std::regex_match(text, match, kSize)) return refuse();
  uint64_t number = 0;
  try {
    number = std::stoull(match[1].str());
  } catch (const std::exception&) {
    return refuse();
  }
  int shift = 0;
  if (match[2].length() > 0) shift = 10 * (1 + static_cast<int>(std::string("KMGT").find(std::toupper(match[2].str()[0]))));
  if (shift > 0 && number > (UINT64_MAX >> shift)) return refuse();
  return number << shift;
}

}  // namespace dockmig::base
