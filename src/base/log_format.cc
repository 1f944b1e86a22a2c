#include "base/log_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

namespace dockmig::base {
namespace {

/// RFC 3339 in UTC with milliseconds: 2026-12-05T12:38:10.123Z.
std::string utc_time(spdlog::log_clock::time_point when) {
  auto since_epoch = when.time_since_epoch();
  std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[40];
  size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  std::snprintf(text + length, sizeof text - length, ".%03dZ", static_cast<int>(millis));
  return text;
}

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override {
    nlohmann::ordered_json line{{"time", utc_time(message.time)},
                        {"level", std::string(spdlog::level::to_string_view(message.level).data(),
                                              spdlog::level::to_string_view(message.level).size())},
                        {"logger", std::string(message.logger_name.data(), message.logger_name.size())},
                        {"msg", std::string(message.payload.data(), message.payload.size())}};
    // A message may quote bytes from outside (a file name, a peer's answer): never throw on them.
    std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::Text;
  if (text == "json") return LogFormat::Json;
  return std::nullopt;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format) {
  if (format == LogFormat::Json) return std::make_unique<JsonFormatter>();
  return nullptr;
}

}  // namespace dockmig::base
