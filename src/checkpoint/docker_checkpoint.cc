// Checkpoint and restore through dockerd rather than runc: dockerd then keeps its own view
// of the container (stopped after the dump, running after the restore) and rebuilds the
// network namespace itself on restore. When CRIU fails, dockerd's message only names the
// log file; the error lines of that log are what a person needs, so they travel up as the
// error's detail (crun's show_criu_log).
#include "checkpoint/docker_checkpoint.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"
#include "base/proc_status.h"
#include "checkpoint/criu.h"
#include "checkpoint/lent_runc_config.h"
#include "checkpoint/masked_mounts.h"
#include "checkpoint/runc_criu_config.h"
#include "checkpoint/stdio_descriptors.h"
#include "docker/container_info.h"
#include "hostnet/neighbor_table.h"

namespace dockmig::checkpoint {
namespace {

// An optimisation only: a failure costs the clients that second, not the restore.
void learn_container_neighbors(const nlohmann::json& inspect) {
  for (const docker::NetworkAddress& address : docker::network_addresses(inspect)) {
    std::optional<hostnet::MacAddress> mac = hostnet::parse_mac(address.mac);
    if (!mac) continue;
    Result<int> learned = hostnet::learn_neighbor(address.ipv4, *mac);
    if (!learned) spdlog::warn("{} (clients may wait up to 1 s more)", learned.error().message);
    else if (*learned > 0) spdlog::debug("neighbour {} set to {} on {} interface(s)", address.ipv4, address.mac, *learned);
  }
}

// Once a container runs from a checkpoint, its images are only disk taken: a source
// resumed after a failed handoff would otherwise keep one per attempt.
void discard_checkpoint(const docker::EngineClient& engine, const std::string& docker_root,
                        const std::string& container_id, const std::string& name) {
  if (Status removed = engine.remove_checkpoint(container_id, name); !removed)
    spdlog::warn("the container runs, but removing its checkpoint `{}` failed: {}", name, removed.error().describe());
  std::error_code ec;
  std::filesystem::remove_all(lent_images_dir(docker_root, container_id), ec);
  if (ec) spdlog::warn("removing the checkpoint images of `{}`: {}", name, ec.message());
}

// CRIU restores the connections a dump closed, or kept open, only when told to
// (lent_runc_config.h).
// runc's message names the log of its own work dir, which the lent work-dir replaced.
std::string lazy_restore_excerpt(const LazyPagesDaemon& lazy) {
  std::string restore = criu_log_excerpt_of(lazy.work_dir() / "restore.log");
  std::string daemon = criu_log_excerpt_of(lazy.log_path());
  return restore + (restore.empty() || daemon.empty() ? "" : "\n") + daemon;
}

// Empty, for this restore's log alone; none (runc's own) when it cannot be made.
std::filesystem::path fresh_restore_work_dir(const std::string& docker_root, const std::string& container_id) {
  std::filesystem::path dir = restore_work_dir(docker_root, container_id);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (!ec) return dir;
  spdlog::warn("CRIU restores in runc's work dir (its log goes with a failed task): cannot make `{}`: {}",
               dir.string(), ec.message());
  return {};
}

// A gated restore waits for its memory with the lend's lock held; other restores and
// dumps on this host need it, and CRIU has read the file once it runs the gate's first
// stage.
Status start_while_lent(const docker::EngineClient& engine, const std::string& container_id, const std::string& name,
                        std::optional<LentRuncConfig> lent, const RestoreGate* gate) {
  if (!gate) return engine.start_container(container_id, name);
  std::atomic<bool> call_ended{false};
  std::thread put_back([&] {
    while (!call_ended.load(std::memory_order_acquire) && !gate->criu_started())
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (gate->criu_started())
      spdlog::info("the restore of {} is in CRIU, which read the lent {}: it is put back", container_id.substr(0, 12),
                   kRuncCriuConfigPath);
    lent.reset();
  });
  Status started = base::contain_exceptions("Docker's start from a checkpoint",
                                            [&] { return engine.start_container(container_id, name); });
  call_ended.store(true, std::memory_order_release);
  put_back.join();
  return started;
}

// A lazy restore needs its lines: without them it would restore eagerly and leave the
// daemon waiting, as a gated one would not wait. The masks' line is needed by every
// checkpoint whose dump had them (masked_mounts.h), and is unused by the others.
Status start_from_checkpoint(const docker::EngineClient& engine, const std::string& container_id,
                             const std::string& name, TcpMode tcp, const std::filesystem::path& work_dir,
                             const LazyPagesDaemon* lazy, const RestoreGate* gate) {
  std::string lines = "# dockmig: for one restore only, put back afterwards\n";
  lines += masked_restore_lines();
  if (lazy) lines += lazy->restore_config_lines();
  if (!work_dir.empty()) lines += "work-dir " + work_dir.string() + "\n";
  if (gate) lines += gate->restore_config_lines();
  Result<LentRuncConfig> lent = LentRuncConfig::install(lines, tcp);
  if (!lent && (lazy || gate))
    return std::move(lent.error()).wrap(std::string("lending runc's CRIU the ") + (lazy ? "lazy" : "gated") +
                                        " restore's lines");
  if (!lent)
    spdlog::warn("restoring with {} as it is (TCP connections as it says, not {}): {}", kRuncCriuConfigPath,
                 tcp_mode_name(tcp), lent.error().describe());
  return start_while_lent(engine, container_id, name,
                          lent ? std::optional<LentRuncConfig>(std::move(*lent)) : std::nullopt, gate);
}

}  // namespace

std::filesystem::path checkpoint_dir(const std::string& docker_root, const std::string& container_id,
                                     const std::string& name) {
  return std::filesystem::path(docker_root) / "containers" / container_id / "checkpoints" / name;
}

std::filesystem::path lent_images_dir(const std::string& docker_root, const std::string& container_id) {
  return std::filesystem::path(docker_root) / "containers" / container_id / "dockmig-images";
}

std::filesystem::path lent_work_dir(const std::string& docker_root, const std::string& container_id) {
  return std::filesystem::path(docker_root) / "containers" / container_id / "dockmig-criu";
}

std::string criu_log_excerpt(const std::string& daemon_message) {
  static const std::regex kLogPath(R"((/[^\s:"]+\.log))");
  std::smatch match;
  if (!std::regex_search(daemon_message, match, kLogPath)) return "";
  return criu_log_excerpt_of(match[1].str());
}

std::string criu_log_excerpt_of(const std::filesystem::path& path) {
  std::ifstream log(path);
  std::string line, excerpt;
  int kept = 0;
  while (std::getline(log, line) && kept < 20) {
    if (line.find("Error") == std::string::npos && line.find("rror (") == std::string::npos) continue;
    excerpt += "    " + line + "\n";
    ++kept;
  }
  return excerpt.empty() ? "" : "--- excerpt from " + path.string() + "\n" + excerpt + "--- end of excerpt";
}

// The link must be relative: CRIU reads page images only after it has moved into the
// restored container's root, where an absolute target would name a path inside the
// container. A relative one is resolved from the images dir, which containerd made in the
// host's mount tree; enough `..` reach the host's root from any depth (`..` stops there).
Status link_image_outside(const std::filesystem::path& dir, const std::string& name, const std::filesystem::path& file) {
  std::error_code ec;
  // The file itself may not exist yet (memory_sync.h): its dir must.
  std::filesystem::path real = std::filesystem::canonical(file.parent_path(), ec) / file.filename();
  if (ec) return make_error(ErrorCode::Io, "cannot resolve `" + file.parent_path().string() + "`: " + ec.message());
  std::string target;
  for (int i = 0; i < 64; ++i) target += "../";
  target += real.relative_path().string();
  std::filesystem::remove(dir / name, ec);
  std::filesystem::create_symlink(target, dir / name, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot link `" + (dir / name).string() + "`: " + ec.message());
  return {};
}

Result<CriuRestoreTimes> criu_restore_times(int pid, const std::filesystem::path& lent_work_dir) {
  Result<std::filesystem::path> bundle = lent_work_dir.empty() ? task_bundle_dir(pid) : lent_work_dir;
  if (!bundle) return std::move(bundle.error());
  for (const std::filesystem::path& dir : {*bundle, *bundle / "work"}) {
    Result<CriuRestoreStats> stats = read_restore_stats(dir);
    if (!stats) continue;
    Result<CriuLogTimes> log = read_criu_log_times(dir / "restore.log");
    return CriuRestoreTimes{log ? *log : CriuLogTimes{stats->restore_s, 0, std::nullopt}, *stats};
  }
  return make_error(ErrorCode::NotFound, "no stats-restore in `" + bundle->string() + "` or its work/");
}

int kill_container_processes(const std::string& container_id) {
  int killed = 0;
  Result<std::vector<pid_t>> pids = base::process_ids();
  if (!pids) spdlog::error("cannot kill the processes of container {}: {}", container_id.substr(0, 12),
                           pids.error().describe());
  for (pid_t pid : pids ? *pids : std::vector<pid_t>()) {
    std::ifstream cgroup("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    bool in_container = false;
    while (!in_container && std::getline(cgroup, line)) in_container = line.find(container_id) != std::string::npos;
    if (in_container && ::kill(pid, SIGKILL) == 0) ++killed;
  }
  spdlog::warn("killed {} process(es) of container {}: the pages they wait for cannot come", killed,
               container_id.substr(0, 12));
  return killed;
}

std::filesystem::path lazy_work_dir(const std::string& docker_root, const std::string& container_id) {
  return std::filesystem::path(docker_root) / "containers" / container_id / "dockmig-lazy";
}

std::filesystem::path restore_work_dir(const std::string& docker_root, const std::string& container_id) {
  return std::filesystem::path(docker_root) / "containers" / container_id / "dockmig-restore";
}

Result<LazyFill> finish_lazy_restore(const docker::EngineClient& engine, const std::string& docker_root,
                                     const std::string& container_id, const std::string& name,
                                     LazyPagesDaemon& lazy, std::chrono::milliseconds timeout,
                                     const std::function<std::string()>& abandoned) {
  Result<LazyFill> filled = lazy.wait_filled(timeout, abandoned);
  if (!filled) {
    Result<docker::HttpResponse> killed = engine.request("POST", "/containers/" + container_id + "/kill");
    if (!killed) spdlog::error("killing {} (its memory is incomplete): {}", container_id.substr(0, 12),
                               killed.error().describe());
    return std::move(filled.error()).wrap("lazy restore of " + container_id.substr(0, 12));
  }
  discard_checkpoint(engine, docker_root, container_id, name);
  std::error_code ec;
  std::filesystem::remove_all(lazy_work_dir(docker_root, container_id), ec);
  return filled;
}

Status checkpoint_container(const docker::EngineClient& engine, const std::string& container_id,
                            const std::string& name, const std::filesystem::path& criu_log) {
  Status done = engine.create_checkpoint(container_id, name, /*exit=*/true);
  if (done) return {};
  Error error = std::move(done.error()).wrap("checkpointing " + container_id.substr(0, 12));
  error.detail = criu_log.empty() ? criu_log_excerpt(error.message) : criu_log_excerpt_of(criu_log);
  if (error.hint.empty()) error.hint = tcp_dump_failure_hint(error.detail, read_runc_criu_config());
  if (error.hint.empty()) error.hint = rlimit_dump_failure_hint(error.detail, can_dump_other_users());
  if (error.hint.empty())
    error.hint = "run `dockmig doctor` on this host; CRIU must be >= 4.2 and first on dockerd's PATH";
  return error;
}

Result<nlohmann::json> restore_container(const docker::EngineClient& engine, const std::string& docker_root,
                                         const std::string& container_id, const std::string& name, TcpMode tcp,
                                         const LazyPagesDaemon* lazy, const RestoreGate* gate) {
  // Docker 20.10 uploads the checkpoint dir, as a tar, into containerd's content store on
  // restore, and fails when a blob with that digest is still there from the dump on the
  // same daemon ("commit failed: content sha256:... already exists"): the resume of a
  // source after a failed handoff. A nonce file (CRIU ignores unknown files) makes each
  // upload's digest new.
  std::filesystem::path nonce = checkpoint_dir(docker_root, container_id, name) / "dockmig-restore-nonce";
  std::ofstream(nonce) << std::chrono::steady_clock::now().time_since_epoch().count() << "\n";
  // A lazy restore runs in its daemon's work dir.
  std::filesystem::path work_dir = lazy ? std::filesystem::path() : fresh_restore_work_dir(docker_root, container_id);
  Status done = start_from_checkpoint(engine, container_id, name, tcp, work_dir, lazy, gate);
  if (!done) {
    Error error = std::move(done.error()).wrap("restoring " + container_id.substr(0, 12) +
                                               " from checkpoint `" + name + "`");
    error.detail = lazy              ? lazy_restore_excerpt(*lazy)
                   : work_dir.empty() ? criu_log_excerpt(error.message)
                                      : criu_log_excerpt_of(work_dir / "restore.log");
    return error;
  }
  if (!lazy) discard_checkpoint(engine, docker_root, container_id, name);
  Result<nlohmann::json> inspect = engine.inspect_container(container_id);
  if (inspect) learn_container_neighbors(*inspect);
  return inspect;
}

}  // namespace dockmig::checkpoint
