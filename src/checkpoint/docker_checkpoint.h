#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "checkpoint/criu_log.h"
#include "checkpoint/lazy_pages.h"
#include "checkpoint/restore_gate.h"
#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// Where dockerd keeps (and looks for) a container's checkpoint images. Docker refuses
/// --checkpoint-dir on restore, so migrated images must be placed exactly here; a lazy
/// restore's page daemon serves the memory from these same images.
std::filesystem::path checkpoint_dir(const std::string& docker_root, const std::string& container_id,
                                     const std::string& name);

/// Where dockmig has CRIU write a container's checkpoint images, and its log and stats,
/// for a dump through dockerd (checkpoint/dump.h): beside dockerd's own dirs, so that the
/// images live as long as the container.
std::filesystem::path lent_images_dir(const std::string& docker_root, const std::string& container_id);
std::filesystem::path lent_work_dir(const std::string& docker_root, const std::string& container_id);

/// CRIU-dumps a running container through dockerd; the container stops once dumped.
/// Failures carry the error lines of CRIU's log: `criu_log` when CRIU was lent a work dir
/// of its own (runc's message then names a log that was never written), else the one
/// dockerd's message names.
Status checkpoint_container(const docker::EngineClient& engine, const std::string& container_id,
                            const std::string& name, const std::filesystem::path& criu_log = {});

/// Starts a container from checkpoint `name` in its own checkpoints dir, and returns its
/// inspect data as dockerd gives it after the start. Clients that tried the container
/// while it was frozen or being restored left its addresses waiting for an ARP answer on
/// this host, which Linux asks again only a second later; the restore sets those entries
/// to the container's MACs, so the service answers as soon as it runs. `tcp` must be the
/// dump's: CRIU restores open connections only when told to. With `lazy` (started over
/// checkpoint_dir) the restore leaves the private memory to that daemon and the
/// checkpoint stays until finish_lazy_restore. With `gate`, CRIU waits for it before it
/// reads any memory (restore_gate.h), and runc.conf is put back as soon as CRIU has read it.
Result<nlohmann::json> restore_container(const docker::EngineClient& engine, const std::string& docker_root,
                                         const std::string& container_id, const std::string& name,
                                         TcpMode tcp = TcpMode::Close, const LazyPagesDaemon* lazy = nullptr,
                                         const RestoreGate* gate = nullptr);

/// Kills, with SIGKILL, every process whose cgroup names `container_id`: a copy whose
/// pages cannot come any more (post-copy), whether its restore is still under way (Docker
/// knows no pid of it yet) or it runs. A process waiting for a page dies as it waits, and
/// none runs on. Returns how many it killed.
int kill_container_processes(const std::string& container_id);

/// The work dir a lazy restore's page daemon listens in.
std::filesystem::path lazy_work_dir(const std::string& docker_root, const std::string& container_id);

/// The work dir lent to an eager restore's CRIU: its restore.log outlives a failed restore
/// there (containerd deletes the task's own dir with it), and says why.
std::filesystem::path restore_work_dir(const std::string& docker_root, const std::string& container_id);

/// After a lazy restore: waits until the daemon has put every page in place, then drops the
/// checkpoint. When it cannot, the container (whose memory is incomplete) is killed.
/// `abandoned` is LazyPagesDaemon::wait_filled's.
Result<LazyFill> finish_lazy_restore(const docker::EngineClient& engine, const std::string& docker_root,
                                     const std::string& container_id, const std::string& name,
                                     LazyPagesDaemon& lazy, std::chrono::milliseconds timeout,
                                     const std::function<std::string()>& abandoned = {});

/// Makes `name` in checkpoint dir `dir` stand for `file` (a large image kept elsewhere; it
/// may be made later, its dir must exist), so
/// that Docker's restore path, which tars the checkpoint dir into containerd's content
/// store and untars it again, carries a link instead of the image's bytes.
Status link_image_outside(const std::filesystem::path& dir, const std::string& name, const std::filesystem::path& file);

/// CRIU's account of the restore of the container whose first process is `pid`, just
/// restored by dockerd: containerd's shim runs `runc restore` in the task's bundle (the
/// shim's working dir), and CRIU leaves its restore.log and stats-restore there (or in its
/// work/ link) until the task is deleted. Read it while the container runs. A restore
/// with a lent work dir (restore_work_dir, a lazy one's) ran there: `lent_work_dir` names it.
Result<CriuRestoreTimes> criu_restore_times(int pid, const std::filesystem::path& lent_work_dir = {});

/// The lines of a CRIU log that say what went wrong, found through the log path that
/// dockerd's error message names.
std::string criu_log_excerpt(const std::string& daemon_message);
/// The same from the log at `path`; empty when it holds no error lines or cannot be read.
std::string criu_log_excerpt_of(const std::filesystem::path& path);

}  // namespace dockmig::checkpoint
