#include "checkpoint/lazy_pages.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/proc_status.h"
#include "base/subprocess.h"
#include "base/text_file.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLogName = "lazy-pages.log";
constexpr int kNoPageServer = -1;
// How often wait_filled asks whether its wait was abandoned.
constexpr std::chrono::milliseconds kAbandonPoll{200};

// `criu lazy-pages --daemon` returns once it listens, leaving its pid in the pidfile; a
// pidfd taken now stays that process's even after it ends (it waits for the restore
// until then, so the pid cannot have been reused yet).
Result<base::UniqueFd> daemon_pidfd(const fs::path& pidfile) {
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  if (pid <= 0) return make_error(ErrorCode::ToolFailed, "`criu lazy-pages` left no pid in `" + pidfile.string() + "`");
  base::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd)
    return make_error(ErrorCode::Io, "watching `criu lazy-pages` (pid " + std::to_string(pid) + "): " + std::strerror(errno));
  return pidfd;
}

std::vector<std::string> daemon_command(const std::string& criu, const fs::path& images_dir, const fs::path& work_dir,
                                        const fs::path& pidfile, int page_server_fd) {
  // -v4: the per-process summary that tells every page arrived is a debug line.
  std::vector<std::string> command{criu,     "lazy-pages", "--daemon", "--images-dir", images_dir.string(),
                                   "--work-dir", work_dir.string(), "--pidfile", pidfile.string(),
                                   "-o",       kLogName,     "-v4"};
  if (page_server_fd == kNoPageServer) return command;
  // CRIU warns on every request that a unix socket takes no TCP_CORK/TCP_NODELAY; harmless.
  command.insert(command.end(), {"--page-server", "--ps-socket", std::to_string(page_server_fd)});
  return command;
}

bool ended_within(int pidfd, std::chrono::milliseconds timeout) {
  pollfd ready{pidfd, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int polled = ::poll(&ready, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (polled > 0) return true;
    if (polled == 0 || errno != EINTR) return false;
  }
}

// Waits for the daemon to end, asking `abandoned` between waits of kAbandonPoll.
Status wait_ended(int pidfd, std::chrono::milliseconds timeout, const std::function<std::string()>& abandoned) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (ended_within(pidfd, std::min(left, kAbandonPoll))) return {};
    if (std::string reason = abandoned ? abandoned() : std::string(); !reason.empty())
      return make_error(ErrorCode::Interrupted, "stopped waiting for `criu lazy-pages` to copy every page: " + reason);
    if (left <= kAbandonPoll)
      return make_error(ErrorCode::Timeout, "`criu lazy-pages` had not copied every page after " +
                                                std::to_string(timeout.count() / 1000) + " s");
  }
}

// What the log says of one process, keyed as CRIU's lines name it: "PID-UFFD".
struct ProcessPages {
  uint64_t given_up = 0;
  bool ended = false;
};

// CRIU names a process "PID-FD" and, once it ended, "PID--FD" (the fd negated).
std::string process_key(const std::string& pid, const std::string& fd) {
  return pid + "-" + (fd.starts_with('-') ? fd.substr(1) : fd);
}

}  // namespace

LazyFill parse_lazy_pages_log(const std::string& log) {
  static const std::regex kSummary(R"(uffd: (\d+)-(-?\d+): UFFD transferred pages: \((\d+)/(\d+)\))");
  static const std::regex kGivenUp(R"(uffd: (\d+)-(-?\d+): (?:REMOVE|UNMAP): [0-9a-fA-Fx]+\(([0-9a-fA-F]+)\))");
  static const std::regex kEnded(R"(uffd: (\d+)-(-?\d+): EXIT)");
  constexpr uint64_t kPage = 4096;
  LazyFill fill;
  std::map<std::string, ProcessPages> processes;
  std::istringstream lines(log);
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, match, kGivenUp)) {
      processes[process_key(match[1], match[2])].given_up += (std::stoull(match[3].str(), nullptr, 16) + kPage - 1) / kPage;
    } else if (std::regex_search(line, match, kEnded)) {
      processes[process_key(match[1], match[2])].ended = true;
    } else if (std::regex_search(line, match, kSummary)) {
      const ProcessPages& process = processes[process_key(match[1], match[2])];
      uint64_t copied = std::stoull(match[3].str()), total = std::stoull(match[4].str());
      uint64_t missing = total > copied ? total - copied : 0;
      ++fill.processes;
      fill.pages_copied += copied;
      fill.pages_total += total;
      if (missing > 0 && (process.ended || missing <= process.given_up))
        fill.pages_discarded += missing;
      else if (missing > 0 && fill.incomplete.empty())
        fill.incomplete = line;
    } else if (line.find("Error") != std::string::npos && fill.incomplete.empty()) {
      fill.incomplete = line;
    }
  }
  if (fill.processes == 0 && fill.incomplete.empty()) fill.incomplete = "no process was served";
  return fill;
}

std::string lazy_restore_blocker(bool uffd_noncooperative) {
  if (!uffd_noncooperative)
    return "this host's kernel or CRIU lacks non-cooperative userfaultfd (`criu check --feature uffd-noncoop` fails)";
  return "";
}

std::string host_lazy_restore_blocker(const std::string& criu) {
  Result<base::Exit> checked = base::run({criu, "check", "--feature", "uffd-noncoop"}, {std::chrono::seconds(30), {}});
  if (!checked) return "cannot ask CRIU: " + checked.error().message;
  return lazy_restore_blocker(checked->code == 0);
}

Result<LazyPagesDaemon> LazyPagesDaemon::start(const std::string& criu, const fs::path& images_dir,
                                               const fs::path& work_dir) {
  return launch(criu, images_dir, work_dir, kNoPageServer, kNoPageServer);
}

Result<LazyPagesDaemon> LazyPagesDaemon::start_remote(const std::string& criu, const fs::path& images_dir,
                                                      const fs::path& work_dir, int page_server_fd, int held_fd) {
  return launch(criu, images_dir, work_dir, page_server_fd, held_fd);
}

Result<LazyPagesDaemon> LazyPagesDaemon::launch(const std::string& criu, const fs::path& images_dir,
                                                const fs::path& work_dir, int page_server_fd, int held_fd) {
  std::error_code ec;
  fs::remove_all(work_dir, ec);
  fs::create_directories(work_dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot make `" + work_dir.string() + "`: " + ec.message());
  fs::path pidfile = work_dir / "lazy-pages.pid";
  base::RunOptions options;
  options.timeout = std::chrono::seconds(10);
  if (page_server_fd != kNoPageServer) options.inherit_fds = {page_server_fd, held_fd};
  Result<base::Exit> started = base::run(daemon_command(criu, images_dir, work_dir, pidfile, page_server_fd), options);
  if (!started) return std::move(started.error()).wrap("starting `criu lazy-pages`");
  if (started->code != 0)
    return make_error(ErrorCode::ToolFailed,
                      "`criu lazy-pages` did not start (exit " + std::to_string(started->code) + "): " + started->err,
                      "see " + (work_dir / kLogName).string());
  Result<base::UniqueFd> pidfd = daemon_pidfd(pidfile);
  if (!pidfd) return std::move(pidfd.error());
  return LazyPagesDaemon(work_dir, std::move(*pidfd));
}

void end_left_daemon(const fs::path& work_dir) {
  pid_t pid = 0;
  std::ifstream(work_dir / "lazy-pages.pid") >> pid;
  if (pid <= 0) return;
  // The pid may be another process's by now: only a daemon serving this dir is ended.
  Result<std::vector<std::string>> args = base::process_arguments(pid);
  if (!args || std::ranges::find(*args, "lazy-pages") == args->end()) return;
  auto work_dir_flag = std::ranges::find(*args, "--work-dir");
  if (work_dir_flag == args->end() || std::next(work_dir_flag) == args->end() || *std::next(work_dir_flag) != work_dir)
    return;
  if (::kill(pid, SIGKILL) != 0)
    return spdlog::warn("cannot end the left `criu lazy-pages` (pid {}) of `{}`: {}", pid, work_dir.string(),
                        std::strerror(errno));
  spdlog::info("ended the `criu lazy-pages` (pid {}) left in `{}`", pid, work_dir.string());
}

LazyPagesDaemon::~LazyPagesDaemon() {
  if (pidfd_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

std::string LazyPagesDaemon::restore_config_lines() const {
  return "lazy-pages\nwork-dir " + work_dir_.string() + "\n";
}

fs::path LazyPagesDaemon::log_path() const { return work_dir_ / kLogName; }

Result<LazyFill> LazyPagesDaemon::wait_filled(std::chrono::milliseconds timeout,
                                              const std::function<std::string()>& abandoned) {
  fs::path log = log_path();
  if (Status ended = wait_ended(pidfd_.get(), timeout, abandoned); !ended)
    return std::move(ended.error()).with_hint("see " + log.string());
  pidfd_.reset();
  Result<std::string> log_text = base::read_text_file(log);
  if (!log_text) spdlog::warn("lazy pages: {}; its fill is taken as complete", log_text.error().describe());
  LazyFill fill = parse_lazy_pages_log(log_text ? *log_text : std::string());
  if (!fill.incomplete.empty())
    return make_error(ErrorCode::ToolFailed, "`criu lazy-pages` did not copy every page: " + fill.incomplete,
                      "see " + log.string());
  spdlog::info("lazy pages: {} of {} pages copied into {} process(es); {} the processes gave up before their copy",
                fill.pages_copied, fill.pages_total, fill.processes, fill.pages_discarded);
  return fill;
}

}  // namespace dockmig::checkpoint
