// `--log-format json`: one object a line, whatever the message holds.
#include "base/log_format.h"

#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace dockmig::base {
namespace {

std::string logged_json(const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_formatter(make_log_formatter(LogFormat::Json));
  spdlog::logger logger("dockmig", sink);
  logger.warn("{}", message);
  return out.str();
}

TEST(LogFormat, JsonIsOneEscapedObjectPerLine) {
  std::string text = logged_json("quote \" backslash \\ newline \n tab \t and \x01");
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line only: " << text;
  nlohmann::json line = nlohmann::json::parse(text);
  EXPECT_EQ(line["msg"], "quote \" backslash \\ newline \n tab \t and \x01");
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["logger"], "dockmig");
  EXPECT_TRUE(line["time"].get<std::string>().ends_with("Z")) << line["time"];
}

TEST(LogFormat, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json line = nlohmann::json::parse(logged_json("bad \xff byte"));
  EXPECT_EQ(line["msg"], "bad \xEF\xBF\xBD byte");
}

TEST(LogFormat, ParsesTheOptionsWords) {
  EXPECT_EQ(parse_log_format("json"), LogFormat::Json);
  EXPECT_EQ(parse_log_format("text"), LogFormat::Text);
  EXPECT_FALSE(parse_log_format("xml"));
  EXPECT_EQ(make_log_formatter(LogFormat::Text), nullptr);
}

}  // namespace
}  // namespace dockmig::base
