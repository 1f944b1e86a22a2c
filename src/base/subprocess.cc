// The only place dockmig forks and execs. Output is read from both pipes with poll() so a
// chatty child can never deadlock on a full stderr pipe while we wait on stdout, and the
// deadline applies to the whole run, killing the child's process group when it passes.
#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace dockmig::base {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string command_line(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string item = *entry;
    std::string name = item.substr(0, item.find('='));
    bool overridden = false;
    for (const std::string& e : extra) overridden |= e.substr(0, e.find('=')) == name;
    if (!overridden) env.push_back(item);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Changes only the child's own fd table: the parent's copies stay close-on-exec.
void keep_across_exec(const std::vector<int>& fds) {
  for (int fd : fds) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) continue;
    dprintf(STDERR_FILENO, "cannot pass fd %d on: %s\n", fd, std::strerror(errno));
    _exit(127);
  }
}

[[noreturn]] void exec_child(int out_fd, int err_fd, std::vector<std::string> argv,
                             std::vector<std::string> env, const std::vector<int>& inherit_fds) {
  setpgid(0, 0);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (null_fd > STDIN_FILENO) close(null_fd);
  keep_across_exec(inherit_fds);
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);
  execvpe(c_argv[0], c_argv.data(), c_env.data());
  dprintf(STDERR_FILENO, "cannot execute %s: %s\n", c_argv[0], std::strerror(errno));
  _exit(127);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Reads both pipes until EOF or the deadline; returns false on timeout.
bool drain(int out_fd, int err_fd, Exit& exit, std::chrono::steady_clock::time_point deadline) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* targets[2] = {&exit.out, &exit.err};
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        targets[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  return true;
}

}  // namespace

Result<Exit> run(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty()) return make_error(ErrorCode::Internal, "run: empty command");
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return make_error(ErrorCode::Io, "pipe: " + errno_text());
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return make_error(ErrorCode::Io, "pipe: " + errno_text());
  }
  std::vector<std::string> env = merged_environment(options.env);
  pid_t pid = fork();
  if (pid == 0) exec_child(out_pipe[1], err_pipe[1], argv, env, options.inherit_fds);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return make_error(ErrorCode::Io, "fork for `" + argv[0] + "`: " + errno_text());
  }
  Exit exit;
  bool finished = drain(out_pipe[0], err_pipe[0], exit,
                        std::chrono::steady_clock::now() + options.timeout);
  close(out_pipe[0]);
  close(err_pipe[0]);
  if (!finished) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    return make_error(ErrorCode::Timeout,
                      "`" + command_line(argv) + "` did not finish within " +
                          std::to_string(options.timeout.count()) + " ms");
  }
  exit.code = decode_status(status);
  return exit;
}

std::string find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

}  // namespace dockmig::base
