#include "checkpoint/criu_log.h"

#include <charconv>
#include <fstream>
#include <optional>

#include "base/text_file.h"

namespace dockmig::checkpoint {
namespace {

constexpr size_t kMaxLogBytes = size_t{256} << 20;

std::optional<double> line_timestamp(std::string_view line) {
  if (line.size() < 3 || line.front() != '(') return std::nullopt;
  size_t close = line.find(')');
  if (close == std::string_view::npos) return std::nullopt;
  double seconds = 0;
  auto [end, error] = std::from_chars(line.data() + 1, line.data() + close, seconds);
  if (error != std::errc() || end != line.data() + close) return std::nullopt;
  return seconds;
}

// "Running network-lock scripts", "Running setup-namespaces scripts", ...: CRIU then waits
// for runc's answer, and its next line comes after the hook.
bool starts_action_scripts(std::string_view line) {
  size_t running = line.find("Running ");
  return running != std::string_view::npos && line.ends_with(" scripts");
}

// CRIU logs "\tRPC" when it hands the notification over; the wait follows it.
bool hands_over(std::string_view line) { return line.ends_with("\tRPC"); }

}  // namespace

CriuLogTimes parse_criu_log_times(std::string_view log) {
  CriuLogTimes times;
  std::optional<double> first, hook_started;
  while (!log.empty()) {
    size_t newline = log.find('\n');
    std::string_view line = log.substr(0, newline);
    log.remove_prefix(newline == std::string_view::npos ? log.size() : newline + 1);
    std::optional<double> at = line_timestamp(line);
    if (!at) continue;
    if (!first) first = at;
    if (*at >= *first) times.seconds = *at - *first;
    if (hook_started && hands_over(line)) continue;
    if (hook_started && *at >= *hook_started) times.hooks_seconds += *at - *hook_started;
    hook_started = starts_action_scripts(line) ? at : std::nullopt;
  }
  return times;
}

Result<CriuLogTimes> read_criu_log_times(const std::filesystem::path& path) {
  Result<std::string> text = base::read_text_file(path);
  if (!text) return std::move(text.error()).wrap("CRIU's log");
  if (text->size() > kMaxLogBytes)
    return make_error(ErrorCode::InvalidInput, "CRIU's log `" + path.string() + "` is too large to read");
  CriuLogTimes times = parse_criu_log_times(*text);
  std::error_code ec;
  std::filesystem::file_time_type written = std::filesystem::last_write_time(path, ec);
  if (!ec) times.ended_at = std::chrono::file_clock::to_sys(written);
  return times;
}

std::optional<AroundCriu> around_criu(const CriuLogTimes& log, std::chrono::system_clock::time_point call_started,
                                      std::chrono::system_clock::time_point call_ended) {
  if (!log.ended_at || *log.ended_at > call_ended) return std::nullopt;
  double call = std::chrono::duration<double>(call_ended - call_started).count();
  double after = std::chrono::duration<double>(call_ended - *log.ended_at).count();
  double before = call - after - log.seconds;
  if (before < 0) return std::nullopt;
  return AroundCriu{before, after};
}

void DumpLogFollower::read_new_lines() {
  std::ifstream file(path_, std::ios::binary);
  if (!file) return;
  file.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(64 * 1024, '\0');
  while (file.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || file.gcount() > 0) {
    offset_ += static_cast<std::uintmax_t>(file.gcount());
    partial_line_.append(chunk.data(), static_cast<size_t>(file.gcount()));
    for (size_t newline; (newline = partial_line_.find('\n')) != std::string::npos;) {
      std::string_view line = std::string_view(partial_line_).substr(0, newline);
      // "(00.055986) Seized task 13181, state 1": with runc's freezer cgroup, all of them
      // are frozen by then.
      seized_ = seized_ || line.find(") Seized task ") != std::string_view::npos;
      finished_ = finished_ || line.ends_with("Dumping finished successfully");
      partial_line_.erase(0, newline + 1);
    }
  }
}

bool DumpLogFollower::tasks_seized() {
  if (!seized_) read_new_lines();
  return seized_;
}

bool DumpLogFollower::dump_finished() {
  if (!finished_) read_new_lines();
  return finished_;
}

}  // namespace dockmig::checkpoint
