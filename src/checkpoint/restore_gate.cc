#include "checkpoint/restore_gate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>

#include <spdlog/spdlog.h>

#include "base/proc_status.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr const char* kScript = "criu-gate";
constexpr const char* kStarted = "criu-started";
constexpr const char* kOpen = "open";
constexpr const char* kFailed = "failed";
constexpr const char* kMarkerPrefix = "dockmig-gate.";

// Polls every 10 ms; gives up when the agent that made it is gone or after 30 minutes,
// so a CRIU is never left waiting for good. The agent is named by its pid and start time
// and counts as gone once a zombie: kill -0 would take a zombie or a reused pid for it.
// Any CRIU on the host that reads runc.conf while it is lent runs the script too: the
// marker among the images (containerd restores from its own copy of the dir) tells this
// gate's restore from the others, which pass untouched.
std::string script_text(const fs::path& dir, const std::string& marker, pid_t agent, const std::string& agent_start) {
  std::string quoted = "'" + dir.string() + "'";
  return "#!/bin/sh\n"
         "# dockmig's restore gate (src/checkpoint/restore_gate.h), for one restore\n"
         "[ -e \"$CRTOOLS_IMAGE_DIR/" + marker + "\" ] || exit 0\n"
         "dir=" + quoted + "\n"
         "case \"$CRTOOLS_SCRIPT_ACTION\" in\n"
         "pre-restore) : > \"$dir/" + kStarted + "\"; exit 0 ;;\n"
         "post-setup-namespaces) ;;\n"
         "*) exit 0 ;;\n"
         "esac\n"
         "agent_alive() {\n"
         "  { read -r stat < /proc/" + std::to_string(agent) + "/stat; } 2>/dev/null || return 1\n"
         "  set -- ${stat##*') '}\n"
         "  [ \"$1\" != Z ] && [ \"$1\" != X ] && [ \"${20}\" = " + agent_start + " ]\n"
         "}\n"
         "n=0\n"
         "while [ ! -e \"$dir/" + kOpen + "\" ]; do\n"
         "  [ -e \"$dir/" + kFailed + "\" ] && exit 1\n"
         "  agent_alive || exit 1\n"
         "  n=$((n + 1)); [ $n -gt 180000 ] && exit 1\n"
         "  sleep 0.01\n"
         "done\n";
}

Status touch(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorCode::Io, "cannot create `" + path.string() + "`: " + std::strerror(errno));
  ::close(fd);
  return {};
}

}  // namespace

Result<RestoreGate> RestoreGate::create(const fs::path& dir, const fs::path& images_dir, pid_t agent) {
  std::optional<std::string> agent_start = base::process_start_ticks(agent);
  if (!agent_start) return make_error(ErrorCode::NotFound, "process " + std::to_string(agent) + " is gone");
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
  std::string marker = std::string(kMarkerPrefix) + std::to_string(std::random_device()()) + std::to_string(agent);
  if (Status marked = touch(images_dir / marker); !marked) return std::move(marked.error());
  fs::path script = dir / kScript;
  if (!(std::ofstream(script) << script_text(dir, marker, agent, *agent_start)) || ::chmod(script.c_str(), 0700) != 0)
    return make_error(ErrorCode::Io, "cannot write the restore gate `" + script.string() + "`: " + std::strerror(errno));
  return RestoreGate(dir);
}

RestoreGate::~RestoreGate() {
  if (dir_.empty()) return;
  if (!decided_) fail();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string RestoreGate::restore_config_lines() const { return "action-script " + (dir_ / kScript).string() + "\n"; }

bool RestoreGate::criu_started() const {
  std::error_code ec;
  return fs::exists(dir_ / kStarted, ec);
}

Status RestoreGate::open() {
  decided_ = true;
  return touch(dir_ / kOpen);
}

void RestoreGate::fail() {
  decided_ = true;
  if (Status failed = touch(dir_ / kFailed); !failed)
    spdlog::error("a restore waiting for its memory may wait until its agent ends: {}", failed.error().describe());
}

}  // namespace dockmig::checkpoint
