// How log lines look: spdlog's text, or one JSON object per line for log systems
// (`--log-format json`): {"time", "level", "logger", "msg"}, escaped by nlohmann_json.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <spdlog/formatter.h>

namespace dockmig::base {

enum class LogFormat { Text, Json };

std::optional<LogFormat> parse_log_format(std::string_view text);
/// The formatter for `format`; null for Text (spdlog's own pattern stays).
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format);

}  // namespace dockmig::base
