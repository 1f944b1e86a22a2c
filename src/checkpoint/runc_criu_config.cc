#include "checkpoint/runc_criu_config.h"

#include <sstream>

#include "base/text_file.h"

namespace dockmig::checkpoint {

std::string criu_config_option(const std::string& line) {
  std::istringstream words(line.substr(0, line.find('#')));
  std::string option;
  if (!(words >> option)) return "";
  if (option.starts_with("--")) option.erase(0, 2);
  return option;
}

TcpOptions parse_criu_config(const std::string& text) {
  TcpOptions options;
  options.file_exists = true;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::string option = criu_config_option(line);
    if (option == "tcp-close") options.tcp_close = true;
    else if (option == "skip-in-flight") options.skip_in_flight = true;
    else if (option == "tcp-established") options.tcp_established = true;
  }
  return options;
}

TcpOptions read_runc_criu_config(const std::filesystem::path& path) {
  Result<std::string> text = base::read_text_file(path);
  if (!text) return {};
  return parse_criu_config(*text);
}

std::string tcp_dump_failure_hint(const std::string& criu_log_excerpt, const TcpOptions& options) {
  bool in_flight = criu_log_excerpt.find("In-flight connection") != std::string::npos;
  bool established = criu_log_excerpt.find("tcp-established") != std::string::npos;
  bool fixable = (in_flight && !options.skip_in_flight) ||
                 (established && !options.tcp_close && !options.tcp_established);
  if (!fixable) return "";
  return std::string("CRIU refused an open TCP connection of the container's clients; ") +
         kRuncCriuConfigFix + ", then retry (`dockmig doctor` checks it)";
}

}  // namespace dockmig::checkpoint
