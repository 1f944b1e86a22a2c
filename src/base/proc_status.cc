#include "base/proc_status.h"

#include <charconv>
#include <cstdint>
#include <filesystem>

#include "base/text_file.h"

namespace dockmig::base {
namespace {

std::string_view trimmed(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r";
  size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

template <class Number>
std::optional<Number> parse_whole(std::string_view text, int base) {
  Number number{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number, base);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return number;
}

}  // namespace

Result<std::string> read_proc_status(pid_t pid) { return read_text_file("/proc/" + std::to_string(pid) + "/status"); }

std::optional<std::string> process_start_ticks(pid_t pid) {
  Result<std::string> stat = read_text_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  size_t comm_end = stat->rfind(") ");  // the name may hold blanks and parentheses
  if (comm_end == std::string::npos) return std::nullopt;
  std::string_view fields = std::string_view(*stat).substr(comm_end + 2);  // from field 3, the state
  for (int field = 3; field < 22; ++field) {
    size_t blank = fields.find(' ');
    if (blank == std::string_view::npos) return std::nullopt;
    fields.remove_prefix(blank + 1);
  }
  std::string_view ticks = fields.substr(0, fields.find(' '));
  if (!parse_whole<uint64_t>(ticks, 10)) return std::nullopt;
  return std::string(ticks);
}

Result<std::vector<std::string>> process_arguments(pid_t pid) {
  Result<std::string> cmdline = read_text_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline) return std::move(cmdline.error());
  std::vector<std::string> args;
  for (size_t start = 0; start < cmdline->size();) {
    size_t end = cmdline->find('\0', start);
    if (end == std::string::npos) end = cmdline->size();
    args.push_back(cmdline->substr(start, end - start));
    start = end + 1;
  }
  if (!args.empty()) args.erase(args.begin());
  return args;
}

std::optional<std::string_view> proc_status_field(std::string_view status, std::string_view name) {
  while (!status.empty()) {
    size_t newline = status.find('\n');
    std::string_view line = status.substr(0, newline);
    status.remove_prefix(newline == std::string_view::npos ? status.size() : newline + 1);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':')
      return trimmed(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

std::optional<long> proc_status_number(std::string_view status, std::string_view name) {
  std::optional<std::string_view> value = proc_status_field(status, name);
  return value ? parse_whole<long>(*value, 10) : std::nullopt;
}

std::optional<bool> proc_status_has_capability(std::string_view status, std::string_view name, int capability) {
  std::optional<std::string_view> value = proc_status_field(status, name);
  std::optional<uint64_t> set = value ? parse_whole<uint64_t>(*value, 16) : std::nullopt;
  if (!set) return std::nullopt;
  return capability >= 0 && capability < 64 && ((*set >> capability) & 1);
}

bool shares_our_namespace(pid_t pid, std::string_view kind) {
  std::error_code theirs_ec, ours_ec;
  std::string name(kind);
  std::filesystem::path theirs = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + name, theirs_ec);
  std::filesystem::path ours = std::filesystem::read_symlink("/proc/self/ns/" + name, ours_ec);
  return !theirs_ec && !ours_ec && theirs == ours;
}

Result<std::vector<pid_t>> process_ids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error == std::errc() && end == name.data() + name.size() && pid > 0) pids.push_back(pid);
  }
  if (ec) return make_error(ErrorCode::Io, "cannot list /proc: " + ec.message());
  return pids;
}

}  // namespace dockmig::base
