#include "checkpoint/dump.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"
#include "base/proc_status.h"
#include "base/subprocess.h"
#include "base/unique_fd.h"
#include "checkpoint/criu_log.h"
#include "checkpoint/docker_checkpoint.h"
#include "checkpoint/lent_runc_config.h"
#include "checkpoint/masked_mounts.h"
#include "checkpoint/runc_criu_config.h"
#include "checkpoint/stdio_descriptors.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;
constexpr std::chrono::seconds kPageServerEnds{5};  // after a dump: it closes its images, then ends
Error io_error(const std::string& what) { return make_error(ErrorCode::Io, what + ": " + std::strerror(errno)); }

// The lines a dump adds to runc.conf: where CRIU writes its images, and keeps its log and
// stats (Docker deletes its own work dir, stats and all, before it returns), runc's masked
// dirs as external mounts when both ends allow it (masked_mounts.h), and the page server
// if there is one.
std::string lent_lines(const DumpRequest& request, std::optional<uint16_t> page_server_port) {
  std::string lines = "# dockmig: for one dump only, put back afterwards\n";
  lines += "images-dir " + request.images_dir.string() + "\n";
  lines += "work-dir " + request.work_dir.string() + "\n";
  lines += masked_dump_lines(request.external_masks);
  if (page_server_port) lines += "page-server\naddress 127.0.0.1\nport " + std::to_string(*page_server_port) + "\n";
  return lines;
}

Result<uint16_t> free_loopback_port() {
  base::UniqueFd socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (!socket_fd || ::bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return io_error("finding a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

// `criu page-server --daemon` returns once it listens; it ends by itself after one dump.
Status start_page_server(const std::string& criu, const fs::path& dir, uint16_t port) {
  Result<base::Exit> started =
      base::run({criu, "page-server", "--daemon", "--images-dir", dir.string(), "--address", "127.0.0.1", "--port",
                 std::to_string(port), "--pidfile", (dir / "page-server.pid").string(), "-o", "page-server.log"},
                {std::chrono::seconds(10), {}});
  if (!started) return std::move(started.error()).wrap("starting CRIU's page server");
  if (started->code != 0)
    return make_error(ErrorCode::ToolFailed, "CRIU's page server did not start (exit " + std::to_string(started->code) +
                                                 "): " + started->err);
  return {};
}

pid_t page_server_pid(const fs::path& dir) {
  std::ifstream text(dir / "page-server.pid");
  pid_t pid = 0;
  text >> pid;
  return pid;
}

// Whether `pid` is still a page server of CRIU's: alive, not a zombie, and running `criu
// page-server` (the pid in its pidfile may name another process by now).
bool page_server_alive(pid_t pid) {
  Result<std::vector<std::string>> arguments = base::process_arguments(pid);
  if (!arguments || std::find(arguments->begin(), arguments->end(), "page-server") == arguments->end()) return false;
  Result<std::string> status = base::read_proc_status(pid);
  std::optional<std::string_view> state = status ? base::proc_status_field(*status, "State") : std::nullopt;
  return state && !state->starts_with("Z");
}

// CRIU's page server answers the dump's last command before it closes its images, and it
// buffers the pagemap until that close. Killed as soon as the dump ended, it could leave the
// last process's pagemap cut short, and every restore of that checkpoint then failed
// ("Unexpected EOF" in CRIU's restore log, at the destination and at the source's resume
// alike). So after a dump it gets time to end by itself, and is killed only if it hangs;
// without a dump (one that failed, or never began) it has nothing to write.
void stop_page_server(const fs::path& dir, bool after_dump) {
  pid_t pid = page_server_pid(dir);
  if (pid <= 0) return;
  auto begin = std::chrono::steady_clock::now();
  auto deadline = begin + (after_dump ? kPageServerEnds : std::chrono::seconds(0));
  bool alive;
  while ((alive = page_server_alive(pid)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!alive) {
    spdlog::debug("CRIU's page server ended {:.3f} s after it was asked to",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    return;
  }
  if (after_dump)
    spdlog::warn("CRIU's page server (pid {}) had not ended {} s after the dump; killing it", pid,
                 kPageServerEnds.count());
  ::kill(pid, SIGKILL);
}

}  // namespace

// dockerd's checkpoint dir holds only runc's descriptors.json (or nothing, when its call
// failed after CRIU): the images are copied in, the page images linked.
Status fill_checkpoint_dir(const fs::path& checkpoint_dir, const fs::path& images_dir) {
  std::error_code ec;
  if (fs::exists(checkpoint_dir / "inventory.img", ec)) return {};  // dumped by Docker's own path
  fs::create_directories(checkpoint_dir, ec);
  if (ec) return make_error(ErrorCode::Io, "creating `" + checkpoint_dir.string() + "`: " + ec.message());
  for (const auto& entry : fs::directory_iterator(images_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".img") && name != kDescriptorsFile) continue;
    if (name.starts_with("pages-")) {
      if (Status linked = link_image_outside(checkpoint_dir, name, entry.path()); !linked) return linked;
    } else {
      fs::copy_file(entry.path(), checkpoint_dir / name, fs::copy_options::skip_existing, ec);
      if (ec) return make_error(ErrorCode::Io, "copying " + name + " into the checkpoint: " + ec.message());
    }
  }
  if (ec) return make_error(ErrorCode::Io, "listing `" + images_dir.string() + "`: " + ec.message());
  return {};
}

struct Dump::Lent {
  LentRuncConfig config;
};

// Docker's checkpoint call, on a thread of its own so that the images can move on before
// it returns.
struct Dump::Call {
  std::thread thread;
  std::atomic<bool> ended{false};
  Status status;
  std::chrono::system_clock::time_point started_at, ended_at;

  void start(docker::EngineClient engine, const DumpRequest& request) {
    started_at = std::chrono::system_clock::now();
    thread = std::thread([this, engine = std::move(engine), id = request.container_id, name = request.name,
                          log = request.work_dir / "dump.log"] {
      status = base::contain_exceptions("Docker's checkpoint call",
                                        [&] { return checkpoint_container(engine, id, name, log); });
      ended_at = std::chrono::system_clock::now();
      ended.store(true, std::memory_order_release);
    });
  }
  void join() {
    if (thread.joinable()) thread.join();
  }
};
namespace {

Status make_empty_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
  return {};
}

}  // namespace

Result<Dump> Dump::prepare(DumpRequest request) {
  for (const fs::path& dir : {request.images_dir, request.work_dir})
    if (Status made = make_empty_dir(dir); !made) return std::move(made.error());
  if (Status written = write_descriptors_file(request.images_dir, request.pid, request.container_id); !written)
    return std::move(written.error());
  std::optional<uint16_t> port;
  if (request.page_server) {
    Result<uint16_t> free = free_loopback_port();
    if (!free) return std::move(free.error());
    port = *free;
  }
  Result<LentRuncConfig> config = LentRuncConfig::install(lent_lines(request, port), request.tcp);
  if (!config) return std::move(config.error()).wrap("lending runc's CRIU an images dir, work dir and page server");
  if (port)
    if (Status started = start_page_server(request.criu, request.images_dir, *port); !started) {
      stop_page_server(request.images_dir, /*after_dump=*/false);
      return std::move(started.error());
    }
  return Dump(std::move(request), std::make_unique<Lent>(Lent{std::move(*config)}));
}

Dump::Dump(DumpRequest request, std::unique_ptr<Lent> lent) : request_(std::move(request)), lent_(std::move(lent)) {}
Dump::Dump(Dump&&) noexcept = default;

Dump::~Dump() {
  if (call_) call_->join();
  release();
}

void Dump::release() {
  if (!lent_) return;
  if (request_.page_server) stop_page_server(request_.images_dir, dumped_);
  lent_.reset();  // puts runc.conf back
}

Status Dump::dump_images(const docker::EngineClient& engine, const std::function<void()>& on_seized) {
  call_ = std::make_unique<Call>();
  call_->start(engine, request_);
  DumpLogFollower log(request_.work_dir / "dump.log");
  bool seized = false;
  while (!call_->ended.load(std::memory_order_acquire)) {
    if (!seized && log.tasks_seized()) {
      seized = true;
      if (on_seized) on_seized();
    }
    if (log.dump_finished()) {
      dumped_ = true;
      // Nothing of this dump reads runc.conf again, and the next CRIU on this host (a
      // restore, on a test bed the destination's) must not get this dump's dirs.
      release();
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  call_->join();
  dumped_ = static_cast<bool>(call_->status);
  release();
  if (!dumped_) return std::exchange(call_->status, Status{});
  return {};
}

Status Dump::finish() {
  if (!call_) return make_error(ErrorCode::Internal, "finishing a dump that never started");
  call_->join();
  release();
  if (!dumped_) return {};  // dump_images() said why
  Status called = std::exchange(call_->status, Status{});
  Status completed = fill_checkpoint_dir(request_.checkpoint_dir, request_.images_dir);
  if (!called) return std::move(called.error()).wrap("CRIU's images are complete, but Docker's call failed after it");
  return completed;
}

Result<CriuDumpTimes> Dump::criu_times() const {
  Result<CriuLogTimes> log = read_criu_log_times(request_.work_dir / "dump.log");
  if (!log) return std::move(log.error());
  Result<CriuDumpStats> stats = read_dump_stats(request_.work_dir);
  if (!stats) return std::move(stats.error());
  return CriuDumpTimes{*log, *stats};
}

std::optional<AroundCriu> Dump::around_criu() const {
  if (!call_ || !call_->ended.load(std::memory_order_acquire)) return std::nullopt;
  Result<CriuLogTimes> log = read_criu_log_times(request_.work_dir / "dump.log");
  if (!log) return std::nullopt;
  return checkpoint::around_criu(*log, call_->started_at, call_->ended_at);
}

}  // namespace dockmig::checkpoint
