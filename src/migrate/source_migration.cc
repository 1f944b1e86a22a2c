// The source side of a live migration, read top-down like a list of phases:
//   plan -> image -> presync -> checkpoint -> finalsync -> restore -> confirm.
// The writable layer is sent while the container still runs (presync); after the CRIU
// checkpoint only what changed since then and the checkpoint images cross the link, so
// only that counts as downtime. One guard decides the end: until the destination says
// "committed", any failure resumes the source from its own checkpoint. Exceptions and
// signals too go through that decision: a frozen source left behind is a lost service.
#include "migrate/source_migration.h"

#include <string.h>

#include <chrono>
#include <random>

#include <spdlog/spdlog.h>

#include "base/byte_units.h"
#include "base/exception_boundary.h"
#include "checkpoint/criu.h"
#include "checkpoint/docker_checkpoint.h"
#include "checkpoint/dump.h"
#include "checkpoint/masked_mounts.h"
#include "checkpoint/stdio_descriptors.h"
#include "docker/container_info.h"
#include "docker/engine_client.h"
#include "faults/fault_points.h"
#include "layers/upper_tar.h"
#include "layers/upper_snapshot.h"
#include "migrate/attached_volumes.h"
#include "migrate/bind_copies.h"
#include "migrate/freeze_round.h"
#include "migrate/plan.h"
#include "migrate/restart_policy.h"
#include "migrate/session.h"
#include "migrate/source_record.h"
#include "migrate/image_sync.h"
#include "migrate/left_volumes.h"
#include "migrate/link_resume.h"
#include "migrate/postcopy.h"
#include "migrate/memory_sync.h"
#include "migrate/ownership.h"
#include "migrate/peer_message.h"
#include "migrate/restore_choice.h"
#include "migrate/tree_sync.h"
#include "migrate/volume_sync.h"
#include "migrate/warm_store.h"
#include "transfer/channel.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr uint64_t kPageServerFromBytes = 32u << 20;

// For the destination, which refuses a dump its CRIU may not read; "" when ours cannot
// be asked, and the dump then says why.
std::string criu_version(const std::string& binary) {
  Result<checkpoint::Criu> criu = checkpoint::Criu::find(binary);
  Result<checkpoint::CriuVersion> version = criu ? criu->version() : Result<checkpoint::CriuVersion>(criu.error());
  if (!version) spdlog::warn("{}", version.error().describe());
  return version ? version->text : "";
}

// A rollback adds what it learned to the failure's detail, which may hold a cause already.
void add_detail(Error& error, const std::string& text) {
  if (!error.detail.empty()) error.detail += "; ";
  error.detail += text;
}

class SourceMigration {
 public:
  SourceMigration(const MigrationRequest& request, Progress& progress, Interruption& interruption)
      : request_(request), progress_(progress), interruption_(interruption), id_(new_session_id()),
        checkpoint_name_("dockmig-" + id_), resume_token_(new_resume_token()) {}

  MigrationOutcome run() {
    start_ = Clock::now();
    report_.container = request_.container;
    report_.source = request_.docker;
    report_.destination = request_.destination;
    work_dir_ = std::filesystem::temp_directory_path() / ("dockmig-" + id_);
    std::error_code ignored;
    std::filesystem::create_directories(work_dir_, ignored);
    // An exception becomes its phase's error, so that the decision after a failure still runs.
    Status done = base::contain_exceptions("migrating", [&] { return run_phases(); });
    interruption_.forbid_cut();
    std::filesystem::remove_all(work_dir_, ignored);
    if (warm_) std::filesystem::remove_all(warm_->work, ignored);
    report_.handoff_seconds = seconds_since(start_);
    for (const PhaseReport& phase : report_.phases) report_.bytes_total += phase.wire_bytes;
    if (session_ && session_->resume_stats().resumes > 0)
      spdlog::warn("the link to the destination broke and resumed {} time(s); {} bytes sent again",
                   session_->resume_stats().resumes, session_->resume_stats().resent_bytes);
    if (done) {
      report_.succeeded = true;
      close_record();
      return {report_, {}, false};
    }
    Error error = interruption_.signal() ? interrupted(std::move(done.error())) : std::move(done.error());
    report_.error = error.message;
    MigrationOutcome outcome = decide_after_failure(std::move(error));
    if (interruption_.signal() && !outcome.status) outcome.status.error().message += where_it_runs(outcome);
    if (!outcome.needs_attention) close_record();  // else `dockmig recover` settles it from the journal
    return outcome;
  }

 private:
  Status run_phases() {
    // 1 plan: read the container; refuse what cannot move, naming why.
    Status step = timed("plan", [&] { return plan(); });
    if (!step || request_.dry_run) return step;
    // 2 image: the destination finds the image in its cache or registry, or we send it.
    step = timed("image", [&] { return ensure_image(); });
    // 3 presync: the writable layer, while the container still runs.
    if (step) step = timed("presync", [&] { return presync(); });
    // 4 precopy: the container's memory, in rounds, while it still runs.
    if (step) step = timed("precopy", [&] { return precopy(); });
    // 5 checkpoint: CRIU dumps the container through dockerd; downtime starts.
    if (step) step = timed("checkpoint", [&] { return freeze(); });
    // 6 finalsync: what changed since presync, and the checkpoint images.
    if (step) step = timed("finalsync", [&] { return final_sync(); });
    // 7 restore: the destination starts the container from the checkpoint.
    if (step) step = timed("restore", [&] { return await_restore(); });
    // 7b postcopy: the pages left here cross as the restored container wants them.
    if (step && lender_ && !pages_done_) step = timed("postcopy", [&] { return await_pages(); });
    // 8 confirm: commit with the destination, then remove (or keep) the source.
    if (step) step = timed("confirm", [&] { return confirm(); });
    return step;
  }

  template <class Step>
  Status timed(const char* phase, Step step) {
    DOCKMIG_FAULT_POINT(std::string("source.before-") + phase, [this] { if (session_) session_->cut(); });
    // Once the destination may start its copy, a signal waits for its decision instead.
    if (interruption_.signal() && !destination_may_start_)
      return make_error(ErrorCode::Interrupted, "stopped before the " + std::string(phase) + " phase");
    progress_.phase_started(phase);
    if (session_) session_->set_phase(phase);
    Clock::time_point begin = Clock::now();
    Status result = step();
    PhaseReport& entry = report_.phase(phase);
    entry.seconds = seconds_since(begin);
    // The hello happens inside plan, before any phase is set on the channel.
    if (session_) entry.wire_bytes = session_->wire_bytes(phase) + (entry.name == "plan" ? session_->wire_bytes("hello") : 0);
    progress_.phase_finished(entry);
    return result;
  }

  Status plan() {
    Result<docker::EngineClient> engine = docker::EngineClient::open(request_.docker);
    if (!engine) return std::move(engine.error());
    engine_.emplace(std::move(*engine));
    Result<MigrationPlan> plan = make_plan(*engine_, request_.container, request_.bind_map, request_.tcp, request_.copy_binds);
    if (!plan) return std::move(plan.error());
    plan_ = std::move(*plan);
    report_.container = plan_.container.name;
    if (!plan_.blockers.empty()) {
      std::string reasons;
      for (const std::string& reason : plan_.blockers) reasons += "\n  - " + reason;
      return make_error(ErrorCode::InvalidInput,
                        "container `" + plan_.container.name + "` cannot be migrated:" + reasons);
    }
    if (request_.dry_run) return {};
    if (Status claimed = claim_ownership(); !claimed) return claimed;
    Result<Session> session = Session::connect(request_.destination, request_.security);
    if (!session) return std::move(session.error());
    session_.emplace(std::move(*session));
    report_.transport = session_->transport();
    interruption_.allow_cut([this] { session_->cut(); });
    return {};
  }

  // With a fleet, before anything freezes: the record must name this host (or is made to).
  Status claim_ownership() {
    if (!request_.ownership) return {};
    const std::string& service = plan_.container.name;
    if (!request_.target_name.empty() && request_.target_name != service)
      return make_error(ErrorCode::InvalidInput, "--name renames the service, which the fleet's ownership record "
                                                 "of `" + service + "` cannot follow",
                        "hand it off under its own name when the agents run with --etcd");
    Result<int64_t> revision = request_.ownership->claim(service, id_);
    if (!revision) return std::move(revision.error()).wrap("refusing the handoff before the freeze");
    owned_revision_ = *revision;
    return {};
  }

  json ownership_message() const {
    if (!request_.ownership) return nullptr;
    return {{"service", plan_.container.name}, {"host", request_.ownership->host()}, {"revision", owned_revision_}};
  }

  Status ensure_image() {
    std::string name = request_.target_name.empty() ? plan_.container.name : request_.target_name;
    warm_ = warm_store().take(plan_.container.id, request_.destination);
    if (warm_ && warm_->container_started_at != plan_.container.started_at) {
      std::error_code ignored;
      std::filesystem::remove_all(warm_->work, ignored);
      warm_.reset();  // restarted since: its layer may have been rewritten under the same stamps
    }
    json prepare = {{"type", "prepare"},
                    {"migration", id_},
                    {"name", name},
                    {"image", plan_.container.image_ref},
                    {"image_id", plan_.container.image_id},
                    {"repo_digests", plan_.image_repo_digests},
                    {"image_layers", image_layer_digests(plan_)},
                    {"checkpoint", checkpoint_name_},
                    {"warm", warm_ ? warm_->warm_id : ""},
                    {"create", docker::create_request(plan_.container, bind_sources(plan_.bind_map))},
                    {"volumes", volume_specs_json(plan_.volumes)},
                    {"attached_volumes", attached_volumes_json(plan_.attached_volumes)},
                    {"copied_binds", copied_binds_json(plan_.copied_binds)},
                    {"networks", network_specs_json(plan_.networks)},
                    {"criu_version", criu_version(request_.criu)},
                    {"docker_version", plan_.docker_version},
                    {"tcp", tcp_mode_name(request_.tcp)},
                    {"restore", restore_mode_name(restore_asked())},
                    {"postcopy", request_.memory_mode != MemoryMode::StopAndCopy},
                    {"return_cache", true},
                    {"volume_passes", true},
                    {"volume_return", true},
                    {"resume", resume_token_},
                    {"source_container", plan_.container.id},
                    {"expected",
                     {{"upper_bytes", plan_.upper_bytes},
                      {"volume_bytes", volume_bytes(plan_)},
                      {"memory_bytes", plan_.memory_bytes},
                      {"image_bytes", plan_.image_bytes}}}};
    if (request_.ownership) prepare["ownership"] = ownership_message();
    if (request_.restore == RestoreMode::Auto) prepare["lazy_min_bytes"] = kLazyRestoreMinBytes;
    report_.restore_requested = restore_mode_name(request_.restore);
    Status sent = session_->send_message(prepare);
    if (!sent) return sent;
    bool destination_attaches = false;
    Result<std::string> source = supply_image(*session_, *engine_, plan_.container.image_ref, report_.phase("image"),
                                              progress_, request_.zstd_level, &destination_attaches);
    if (!source) return std::move(source.error());
    if (Status attaches = require_attaching_destination(plan_.attached_volumes, destination_attaches); !attaches)
      return attaches;
    report_.image_source = *source;
    Result<json> created = session_->expect("created");
    if (!created) return std::move(created.error());
    PeerMessage fields(*created);
    bool warm_kept = fields.boolean_or("warm", false);
    speaks_pages_ = fields.boolean_or("pages", false);
    codes_pages_ = fields.boolean_or("page_coding", false);
    std::string tcp = fields.string_or("tcp", "close");
    held_pages_ = fields.count_or("held_pages", 0);
    bool resumes = fields.boolean_or("resume", false);
    bool copies_binds = fields.boolean_or("copied_binds", false);
    report_.restore_mode = fields.string_or("restore", "eager");
    std::string fallback = fields.string_or("restore_fallback", "");
    volume_passes_ = fields.boolean_or("volume_passes", false);
    postcopy_refusal_ = fields.boolean_or("postcopy", false)
                            ? ""
                            : fields.string_or("postcopy_refusal", "its dockmig does not fetch pages after its restore");
    std::optional<bool> maps_masks;
    if (created->contains("masks")) maps_masks = fields.boolean_or("masks", false);
    std::string masks_refusal = fields.string_or("masks_refusal", "");
    Result<std::vector<bool>> held = read_volumes_held(fields, plan_.volumes);
    if (!held) return std::move(held.error());
    volumes_held_ = std::move(*held);
    for (size_t i = 0; i < volumes_held_.size(); ++i)
      if (volumes_held_[i]) report_.volumes.held.push_back(plan_.volumes[i].name);
    if (Status read = fields.status(); !read) return read;
    note_restore_mode(fallback);
    choose_masks(maps_masks, masks_refusal);
    if (!plan_.copied_binds.empty() && !copies_binds)
      return make_error(ErrorCode::Unsupported, "the destination's dockmig cannot copy bind mounts (--copy-bind)",
                        "upgrade dockmig there");
    // Numbering starts after `created`, on both sides (docs/protocol.md).
    if (resumes) session_->resume_as_source(request_.destination, request_.security, id_, resume_token_);
    // A destination from before --tcp ignores the field and would restore them closed.
    if (request_.tcp == TcpMode::Established && tcp != tcp_mode_name(TcpMode::Established))
      return make_error(ErrorCode::Unsupported, "the destination's dockmig cannot restore open TCP connections "
                                                "(it did not confirm --tcp established)",
                        "upgrade dockmig there, or migrate with --tcp close (clients reconnect)");
    if (warm_ && !warm_kept) warm_.reset();  // the destination lost it
    // Far more than the container could have is no return cache: a peer that would have
    // the source hold that many hashes is refused. The memory size is advice (0 when the
    // stats failed), so the bound is loose: 16 GiB of pages at least.
    uint64_t most = std::max<uint64_t>(4 * plan_.memory_bytes / memory::kPageSize, uint64_t{1} << 22);
    if (held_pages_ > most || (held_pages_ > 0 && !speaks_pages_))
      return make_error(ErrorCode::InvalidInput, "protocol: the destination says it holds " +
                                                     std::to_string(held_pages_) + " pages of a container of " +
                                                     base::human_bytes(plan_.memory_bytes));
    return {};
  }

  // The whole writable layer, or after a preparation only what changed since; then the
  // volumes, in passes while they shrink. Before the memory's rounds: those then run just
  // before the freeze, and memory written during the volumes' passes is not sent twice.
  Status presync() {
    Result<layers::UpperSnapshot> now = layers::scan_upper_dir(plan_.container.upper_dir);
    if (!now) return std::move(now.error());
    PhaseReport& phase = report_.phase("presync");
    Status sent;
    if (warm_) {
      sent = send_tree_changes(*session_, sync_files(), warm_->snapshot, *now, phase, progress_);
      report_.prepared_bytes_saved = warm_->raw_bytes;
    } else {
      progress_.bytes_expected(phase.name, plan_.upper_bytes + volume_bytes(plan_));
      sent = send_whole_tree(*session_, sync_files(), phase, progress_);
    }
    presync_snapshot_ = std::move(*now);
    if (!sent) return sent;
    volumes_.emplace(synced_trees(plan_), work_dir_, request_.zstd_level, volumes_held_);
    return volumes_->send_passes(*session_, volume_passes_, request_.precopy_target_seconds, phase, progress_,
                                 report_.volumes);
  }

  // Destinations from before pre-copy get all memory after the freeze, as before.
  Status precopy() {
    if (!speaks_pages_) return {};
    precopy_.emplace(*session_, request_.zstd_level);
    if (codes_pages_) precopy_->code_pages();
    if (held_pages_ > 0) {
      Result<std::vector<memory::PageHash>> held = receive_held_pages(*session_, work_dir_, held_pages_);
      if (!held) return std::move(held.error());
      precopy_->hold_returned(*held);
    }
    bool rounds = request_.memory_mode == MemoryMode::PreCopy || request_.memory_mode == MemoryMode::Hybrid;
    Status sent = rounds ? precopy_->run_rounds(plan_.container.pid, request_.precopy_target_seconds,
                                                report_.phase("precopy"), progress_, report_.memory)
                         : precopy_->skip_rounds();
    if (sent) choose_deferral();
    return sent;
  }

  // Post-copy, or hybrid: what the destination lacks of the processes' private memory
  // stays here at the freeze, and crosses after the restore (postcopy.h).
  void choose_deferral() {
    Deferral deferral = migrate::choose_deferral(request_.memory_mode, report_.memory.stop_reason, postcopy_refusal_);
    report_.memory.mode = deferral.mode;
    report_.memory.postcopy.fallback = deferral.fallback;
    if (!deferral.fallback.empty()) spdlog::warn("memory moves by {}: {}", deferral.mode, deferral.fallback);
    if (!deferral.defer) return;
    precopy_->defer_private_memory();
    spdlog::info("memory moves by {}: the pages the destination lacks cross after its restore", deferral.mode);
  }

  // When the memory crosses by the page protocol, CRIU sends it straight to a page server
  // here instead of writing it out itself; Docker's own path is the fallback.
  // That costs about 0.1 s more for a tiny container (measured on the bed: busybox
  // counter, dump 0.55 s against 0.45 s), so small memory is written by CRIU.
  Status freeze() {
    held_policy_ = policy_to_hold(plan_.container.host_config);
    if (Status noted = open_record(); !noted) return noted;
    if (Status held = hold_restart_policy(*engine_, plan_.container.id, held_policy_); !held) return held;
    // The pages round 1 read, not those it sent: on a return trip it sends few.
    bool small = !report_.memory.rounds.empty() &&
                 report_.memory.rounds.front().pages_read * memory::kPageSize < kPageServerFromBytes;
    const std::string& id = plan_.container.id;
    checkpoint::DumpRequest request{request_.criu,
                                    id,
                                    plan_.container.pid,
                                    checkpoint_name_,
                                    docker_checkpoint_dir(),
                                    checkpoint::lent_images_dir(plan_.docker_root, id),
                                    checkpoint::lent_work_dir(plan_.docker_root, id),
                                    precopy_ && !small,
                                    request_.tcp,
                                    external_masks_};
    Status dumped = dump_through(request, request.page_server ? "page-server" : "docker");
    if (!dumped && request.page_server) {
      Result<nlohmann::json> inspect = engine_->inspect_container(plan_.container.id);
      if (!inspect || !docker::is_running(*inspect) || interruption_.signal()) return dumped;
      spdlog::warn("{}; checkpointing without the page server instead", dumped.error().describe());
      request.page_server = false;
      dumped = dump_through(request, "docker");
    }
    if (!dumped || !precopy_) return dumped;
    return precopy_->end_rounds();  // when no round ran during the freeze
  }

  // Lending runc.conf is what lets CRIU's images move on before Docker's call returns, and
  // its share be measured; without it Docker's own path still dumps, into its own dir.
  Status dump_through(const checkpoint::DumpRequest& request, const char* path) {
    dump_.reset();
    Result<checkpoint::Dump> dump = checkpoint::Dump::prepare(request);
    // As late as it can be: the round during the freeze sends what was written until now.
    if (precopy_) precopy_->stop_tracking();
    // Docker's own path would dump the connections as the host's runc.conf says, not as asked.
    if (!dump && (request.page_server || request.tcp == TcpMode::Established)) return std::move(dump.error());
    if (!dump) spdlog::warn("{}; checkpointing through Docker's own path", dump.error().describe());
    frozen_at_ = Clock::now();
    if (!dump) {
      Status frozen = checkpoint::checkpoint_container(*engine_, plan_.container.id, checkpoint_name_);
      if (frozen) checkpointed_ = true;
      return frozen;
    }
    dump_.emplace(std::move(*dump));
    std::optional<FreezeRoundThread> round;
    if (precopy_) round.emplace(*precopy_, report_.phase("checkpoint"), progress_, report_.memory);
    Status frozen = dump_->dump_images(*engine_, [&] { if (round) round->start(); });
    Status sent = round ? round->finish() : Status{};
    if (!frozen) return frozen;
    checkpointed_ = true;
    report_.checkpoint_path = path;
    return sent;
  }

  // Docker's checkpoint call, left to wind down while the images moved on, must have ended
  // before dockerd can resume or remove the source.
  void finish_dump() {
    if (!dump_) return;
    Status finished = dump_->finish();
    if (!finished) spdlog::warn("{}", finished.error().describe());
    note_criu_dump(*dump_);
    dump_.reset();
  }

  void note_criu_dump(const checkpoint::Dump& dump) {
    Result<checkpoint::CriuDumpTimes> times = dump.criu_times();
    if (!times) return spdlog::debug("CRIU's share of the checkpoint is unknown: {}", times.error().describe());
    std::optional<checkpoint::AroundCriu> around = dump.around_criu();
    report_.criu_dump = {times->log.seconds, times->log.hooks_seconds, times->stats.frozen_s,
                         times->stats.memdump_s + times->stats.memwrite_s, around ? around->before_seconds : 0,
                         around ? around->after_seconds : 0, true};
  }

  std::filesystem::path docker_checkpoint_dir() const {
    return checkpoint::checkpoint_dir(plan_.docker_root, plan_.container.id, checkpoint_name_);
  }
  // Where the whole checkpoint is: dockmig's own images dir, or Docker's without a lent one.
  std::filesystem::path images_dir() const { return dump_ ? dump_->images_dir() : docker_checkpoint_dir(); }

  Status final_sync() {
    Result<layers::UpperSnapshot> now = layers::scan_upper_dir(plan_.container.upper_dir);
    if (!now) return std::move(now.error());
    PhaseReport& phase = report_.phase("finalsync");
    Status sent = send_final_changes(*session_, sync_files(), presync_snapshot_, *now, phase, progress_);
    if (sent) sent = volumes_->send_final(*session_, phase, progress_, report_.volumes);
    if (!sent) return sent;
    // From the checkpoint's first byte on, the destination may come to start its copy (it
    // restores as soon as it holds all of it, whether or not we hear of that), so from
    // here a failure asks it how it ended, and a signal no longer cuts the link.
    interruption_.forbid_cut();
    if (interruption_.signal()) return make_error(ErrorCode::Interrupted, "stopped before the checkpoint was sent");
    if (Status noted = advance_record(kHandingOver); !noted) return noted;
    destination_may_start_ = true;
    std::filesystem::path images = images_dir();
    std::vector<std::string> small_images = checkpoint_files(images, /*with_pages=*/!precopy_);
    // Known only now, after the dump: the phase's changes so far, and what is left.
    progress_.bytes_expected(phase.name, phase.raw_bytes + tar_bytes(images, small_images) +
                                             (precopy_ ? precopy_->frozen_bytes_expected(images) : 0));
    sent = session_->send_stream("checkpoint", phase, progress_, request_.zstd_level,
        [&](transfer::ByteSink& sink) { return layers::write_upper_tar(images, &small_images, sink); });
    if (sent && precopy_) sent = precopy_->send_frozen(images, phase, progress_, report_.memory);
    if (!sent) return sent;
    if (precopy_) {
      precopy_->count_returned(report_.memory);
      precopy_->count_coded(report_.memory);
    }
    if (!speaks_pages_) return {};
    // The phase ends when the destination holds everything, not when our socket took it.
    Result<json> staged = session_->expect("staged");
    if (!staged) return std::move(staged.error());
    return {};
  }

  static std::vector<std::string> checkpoint_files(const std::filesystem::path& images, bool with_pages) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(images, ec)) {
      std::string name = entry.path().filename().string();
      bool part = name.ends_with(".img") || name == checkpoint::kDescriptorsFile;
      if (part && (with_pages || !is_page_image(name))) names.push_back(name);
    }
    return names;
  }

  // About the raw bytes of these files as a tar stream: a header and whole blocks each.
  static uint64_t tar_bytes(const std::filesystem::path& dir, const std::vector<std::string>& names) {
    constexpr uint64_t kBlock = 512;
    uint64_t bytes = 2 * kBlock;  // the end of the archive
    for (const std::string& name : names) {
      std::error_code ec;
      uintmax_t size = std::filesystem::file_size(dir / name, ec);
      bytes += kBlock + (ec ? 0 : (size + kBlock - 1) / kBlock * kBlock);
    }
    return bytes;
  }

  TreeSyncFiles sync_files() const {
    return {plan_.container.upper_dir, warm_ ? warm_->work : work_dir_, request_.zstd_level};
  }

  Status await_restore() {
    if (precopy_ && precopy_->defers()) {
      Result<PageLender> lender = PageLender::open(images_dir());
      if (!lender) return std::move(lender.error());
      lender_.emplace(std::move(*lender));
    }
    Result<json> restored = lender_ ? lend_until("restored", report_.phase("restore")) : session_->expect("restored");
    if (!restored) return std::move(restored.error());
    report_.downtime_seconds = std::chrono::duration<double>(Clock::now() - frozen_at_).count();
    finish_dump();
    auto criu = restored->find("criu");
    if (criu != restored->end() && criu->is_object())
      report_.criu_restore = {seconds_or_zero(*criu, "seconds"), seconds_or_zero(*criu, "hooks_seconds"), 0, 0,
                              seconds_or_zero(*criu, "docker_before_seconds"),
                              seconds_or_zero(*criu, "docker_after_seconds")};
    read_restore_choice(*restored);
    return {};
  }

  // Post-copy: the destination fetches pages until its `pages-done`, which may come before
  // or after its `restored`. Returns the `wanted` message.
  Result<json> lend_until(const std::string& wanted, PhaseReport& phase) {
    for (;;) {
      Result<json> next = lender_->lend_until_other(*session_, phase, progress_, request_.zstd_level);
      if (!next) return next;
      std::string type = message_type(*next);
      if (type == "pages-done") {
        read_pages_done(*next, report_.memory.postcopy);
        pages_done_ = true;
      }
      if (type == wanted) return next;
      if (type != "pages-done")
        return make_error(ErrorCode::InvalidInput, "protocol: expected `" + wanted + "` or `page-get`, got `" + type + "`");
    }
  }

  Status await_pages() {
    Result<json> done = lend_until("pages-done", report_.phase("postcopy"));
    return done ? Status() : Status(std::move(done.error()));
  }

  // Auto crosses as lazy with a threshold (lazy_min_bytes): a destination from before auto
  // restores lazily whatever the size, one from before lazy eagerly.
  RestoreMode restore_asked() const {
    return request_.restore == RestoreMode::Eager ? RestoreMode::Eager : RestoreMode::Lazy;
  }

  // What the destination did in the end: with auto it weighs the checkpoint's size.
  void read_restore_choice(const json& restored) {
    auto mode = restored.find("restore");
    if (mode != restored.end() && mode->is_string() &&
        parse_restore_mode(mode->get<std::string>()).value_or(RestoreMode::Auto) != RestoreMode::Auto)
      report_.restore_mode = mode->get<std::string>();
    auto choice = restored.find("restore_choice");
    if (request_.restore == RestoreMode::Auto && choice != restored.end() && choice->is_string())
      report_.restore_choice = choice->get<std::string>();
    report_.restore_started_early_seconds = seconds_or_zero(restored, "started_early_seconds");
    report_.held_packets = count_or_zero(restored, "held_packets");
  }

  // runc's masked dirs cross as external mounts only when both ends can map their key: a
  // destination that cannot (or does not say) would fail every restore of the checkpoint.
  void choose_masks(std::optional<bool> destination_maps, const std::string& destination_refusal) {
    checkpoint::MaskLending lending = checkpoint::choose_mask_lending(checkpoint::lendable_masks(plan_.container.pid),
                                                                      destination_maps, destination_refusal);
    external_masks_ = std::move(lending.dirs);
    report_.masked_dirs = lending.reason;
    spdlog::info("{}", lending.reason);
  }

  // A destination from before --restore ignores the field and restores eagerly.
  void note_restore_mode(const std::string& fallback) {
    if (request_.restore == RestoreMode::Eager || report_.restore_mode == "lazy") return;
    report_.restore_mode = "eager";
    std::string why = fallback.empty() ? "the destination's dockmig does not restore lazily" : fallback;
    if (request_.restore == RestoreMode::Auto) {
      report_.restore_choice = "the destination cannot restore lazily: " + why;
      return;
    }
    report_.restore_fallback = why;
    spdlog::warn("the destination restores eagerly, not lazily: {}", report_.restore_fallback);
  }

  void read_lazy_fill(const json& committed) {
    auto lazy = committed.find("lazy");
    if (lazy == committed.end() || !lazy->is_object()) return;
    report_.lazy_fill_seconds = seconds_or_zero(*lazy, "fill_seconds");
    report_.lazy_pages = count_or_zero(*lazy, "pages");
  }

  Status confirm() {
    Result<json> committed = session_->request({{"type", "commit"}}, "committed");
    if (!committed) return std::move(committed.error());
    committed_ = true;
    read_lazy_fill(*committed);
    DOCKMIG_FAULT_POINT("source.before-record-commit", [this] { session_->cut(); });
    if (Status noted = advance_record(kCommitted); !noted)
      spdlog::warn("{}; the destination's ledger says committed all the same", noted.error().describe());
    if (!request_.state_dir.empty()) {
      std::string image_key = return_image_key(image_layer_digests(plan_), plan_.container.image_id);
      keep_for_return(request_.state_dir, {plan_.container.name, image_key}, docker_checkpoint_dir());
      record_left_volumes(*engine_, request_.state_dir, plan_.volumes, plan_.container.name, image_key);
    }
    if (request_.keep_source) return {};
    Status removed = engine_->remove_container(plan_.container.id, /*force=*/false);
    if (!removed) return std::move(removed.error()).wrap("the container runs at the destination, "
                                                         "but removing the stopped source failed");
    return {};
  }

  Error interrupted(Error cause) const {
    Error error = make_error(ErrorCode::Interrupted, "interrupted by " + interruption_.signal_name());
    error.detail = cause.describe();
    return error;
  }

  // After an interrupted migration: where the one running copy is.
  std::string where_it_runs(const MigrationOutcome& outcome) const {
    if (outcome.needs_attention) return "";
    if (report_.rolled_back) return ": the migration was rolled back; `" + plan_.container.name +
                                    "` runs here again, resumed from its checkpoint";
    return ": the migration stopped before the freeze; the container runs here as before";
  }

  // finish_failure, and if even that throws, what a person must check.
  MigrationOutcome decide_after_failure(Error error) {
    Error kept = error;
    try {
      return finish_failure(std::move(error));
    } catch (const std::exception& e) {
      kept.detail += std::string("deciding after the failure threw: ") + e.what();
    } catch (...) {
      kept.detail += "deciding after the failure threw an exception of an unknown type";
    }
    bool source_stopped = checkpointed_ && !committed_ && !report_.rolled_back;
    return {report_, source_stopped ? std::move(kept).with_hint(settle_by_hand_hint()) : std::move(kept),
            source_stopped};
  }

  std::string settle_by_hand_hint() const {
    return "once the destination's agent answers again, `dockmig recover` settles it from the journal; if the "
           "destination is gone for good, check `docker ps` there: if the container does not run there, resume "
           "the source with `dockmig recover --resume " + plan_.container.name + "` (or `docker start --checkpoint " +
           checkpoint_name_ + " " + plan_.container.name + "`)";
  }

  // Before the container may stop: the journal entry `dockmig recover` settles from.
  Status open_record() {
    if (request_.state_dir.empty()) return {};
    JournalEntry entry;
    entry.migration = id_;
    entry.container = plan_.container.name;
    entry.container_id = plan_.container.id;
    entry.peer = request_.destination;
    entry.docker = request_.docker;
    entry.checkpoint = checkpoint_name_;
    entry.keep_source = request_.keep_source;
    entry.tcp = request_.tcp;
    entry.restart_policy = held_policy_;
    Result<SourceRecord> record = SourceRecord::open(request_.state_dir, std::move(entry));
    if (!record) return std::move(record.error());
    record_.emplace(std::move(*record));
    return {};
  }

  Status advance_record(const char* phase) { return record_ ? record_->advance(phase) : Status{}; }

  void close_record() {
    if (!record_) return;
    Status closed = record_->close();
    if (!closed) spdlog::warn("{}; `dockmig recover` will find the migration settled", closed.error().describe());
    record_.reset();
  }

  // Rolls back, or says why it could not: the invariant is one running copy.
  MigrationOutcome finish_failure(Error error) {
    finish_dump();
    if (committed_) return {report_, std::move(error), false};
    if (!checkpointed_) {
      // Said, not just dropped: a dropped link is one the destination waits for to resume.
      if (session_) session_->abort(error);
      put_back_restart_policy(*engine_, plan_.container.id, held_policy_);
      return {report_, std::move(error), false};
    }
    if (session_) session_->abort(error);
    if (destination_may_start_) {
      // The destination may have started its copy; only its word decides.
      // After a link that broke for good, the destination decides when its grace ends.
      std::chrono::seconds reach_for =
          session_ && session_->resumable() ? kDestinationGrace + std::chrono::seconds(30) : std::chrono::seconds(0);
      Result<std::string> state = Session::await_settled_state(request_.destination, id_, request_.security, reach_for);
      if (state && *state == "committed") {
        committed_ = true;
        report_.succeeded = true;
        report_.error.clear();
        Status removed = request_.keep_source ? Status{} : engine_->remove_container(plan_.container.id, false);
        return {report_, std::move(removed), false};
      }
      if (!state && !request_.ownership) {
        add_detail(error, "asking the destination how it ended failed: " + state.error().message);
        return {report_, std::move(error).with_hint(settle_by_hand_hint()), true};
      }
      if (!state) add_detail(error, "asking the destination how it ended failed: " + state.error().message);
      if (request_.ownership && !may_resume(error)) return {report_, std::move(error), true};
    }
    Result<nlohmann::json> resumed =
        checkpoint::restore_container(*engine_, plan_.docker_root, plan_.container.id, checkpoint_name_,
                                      request_.tcp);
    if (!resumed) {
      add_detail(error, "resuming the source failed too: " + resumed.error().describe());
      return {report_, std::move(error), true};
    }
    report_.rolled_back = true;
    put_back_restart_policy(*engine_, plan_.container.id, held_policy_);
    return {report_, std::move(error), false};
  }

  // With a fleet the record decides: the source resumes only once it fenced the record
  // naming this host (Ownership::keep), so that no late swap of the destination's can
  // apply. Unreadable (after keep()'s bounded retries), the container stays checkpointed.
  bool may_resume(Error& error) {
    Result<int64_t> kept = request_.ownership->keep(plan_.container.name);
    if (decide_rollback(kept) == RollbackDecision::Resume) return true;
    if (kept.error().code != ErrorCode::Conflict)
      add_detail(error, "the fleet's ownership record could not be read and fenced (" + kept.error().describe() +
                            "), so the source stays checkpointed rather than risk a second copy");
    else
      add_detail(error, kept.error().message + ", so the source stays checkpointed");
    report_.error = error.message + " (" + error.detail + ")";
    error.hint = settle_by_hand_hint();
    if (Status noted = advance_record(kDestinationOwns); !noted)
      spdlog::warn("{}; the journal still says {}", noted.error().describe(), kHandingOver);
    return false;
  }

  const MigrationRequest& request_;
  Progress& progress_;
  Interruption& interruption_;
  std::string id_;
  std::string checkpoint_name_;
  std::string resume_token_;  // only who knows it takes over this migration's link (link_resume.h)
  std::string held_policy_;  // the restart policy held at "no" from the freeze (restart_policy.h)
  MigrationReport report_;
  Clock::time_point start_;
  Clock::time_point frozen_at_;
  std::optional<docker::EngineClient> engine_;
  std::optional<checkpoint::Dump> dump_;  // from the freeze until Docker's call ended
  std::optional<Session> session_;
  MigrationPlan plan_;
  layers::UpperSnapshot presync_snapshot_;
  std::filesystem::path work_dir_;  // signatures and deltas; removed at the end
  std::optional<WarmState> warm_;   // what a preparation sent ahead, if it did
  std::optional<VolumeSender> volumes_;   // from the presync on
  std::optional<PrecopySender> precopy_;  // when the memory moves before the freeze
  bool speaks_pages_ = false;             // the destination knows pre-copy and "staged"
  bool codes_pages_ = false;              // the destination decodes coded pages (memory/page_coding.h)
  bool volume_passes_ = false;            // the destination takes catch-up passes of the volumes
  std::string postcopy_refusal_;          // why the destination cannot fetch pages after its restore
  std::optional<PageLender> lender_;      // post-copy: the checkpoint's pages, from the restore on
  bool pages_done_ = false;               // the destination has every page it fetched
  std::vector<std::string> external_masks_;  // runc's masked dirs the dump lends as external mounts
  std::vector<bool> volumes_held_;        // by volume: the destination holds the copy it left there
  uint64_t held_pages_ = 0;  // in the destination's store from its return cache, named at the pre-copy's start
  bool checkpointed_ = false;
  bool destination_may_start_ = false;  // the checkpoint began to cross
  bool committed_ = false;
  int64_t owned_revision_ = 0;  // the ownership record's, as claimed before the freeze
  std::optional<SourceRecord> record_;  // from the checkpoint on, when journaled
};

}  // namespace

Interruption::Effect Interruption::request(int signal) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (signal_ != 0) return Effect::Repeated;
  signal_ = signal;
  if (cut_forbidden_) return Effect::Finishing;
  if (cut_) cut_();
  return Effect::Stopping;
}

int Interruption::signal() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return signal_;
}

std::string Interruption::signal_name() const {
  int number = signal();
  const char* abbreviation = number ? sigabbrev_np(number) : nullptr;
  return abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(number);
}

void Interruption::allow_cut(std::function<void()> cut) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cut_forbidden_) return;
  cut_ = std::move(cut);
  if (signal_ != 0) cut_();
}

void Interruption::forbid_cut() {
  std::lock_guard<std::mutex> lock(mutex_);
  cut_ = nullptr;
  cut_forbidden_ = true;
}

MigrationOutcome run_migration(const MigrationRequest& request, Progress& progress) {
  Interruption never;
  return run_migration(request, progress, never);
}

MigrationOutcome run_migration(const MigrationRequest& request, Progress& progress, Interruption& interruption) {
  MigrationOutcome outcome;
  Status ran = base::contain_exceptions("migrating", [&] {
    outcome = SourceMigration(request, progress, interruption).run();
    return Status{};
  });
  // The phases and the decision are guarded inside; only run()'s bookkeeping is left here.
  if (!ran) outcome.status = std::move(ran);
  return outcome;
}

}  // namespace dockmig::migrate
