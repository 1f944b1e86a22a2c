// `dockmig migrate CONTAINER DEST`: live-migrates a local container to the agent at DEST
// and prints the report. On a terminal a progress line follows each long phase. SIGINT
// and SIGTERM stop the migration, but never before one copy of the container runs.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/byte_units.h"
#include "cli/progress_line.h"
#include "cli/signal_watcher.h"
#include "cli/verbs.h"
#include "docker/engine_client.h"
#include "migrate/plan.h"
#include "migrate/prepare.h"
#include "migrate/restore_choice.h"
#include "migrate/session.h"
#include "migrate/source_migration.h"
#include "migrate/warm_store.h"
#include "transfer/compression_level.h"

namespace dockmig::cli {
namespace {

/// On a terminal: each phase's progress_line, redrawn at most every tenth of a second.
class TerminalProgress : public migrate::Progress {
 public:
  explicit TerminalProgress(bool enabled) : enabled_(enabled) {}
  void phase_started(std::string_view phase) override {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    started_ = last_drawn_ = Clock::now();
    expected_ = 0;
    std::fprintf(stderr, "\r\033[K%-10s ...", std::string(phase).c_str());
  }
  void bytes_expected(std::string_view, uint64_t raw_bytes) override {
    std::lock_guard lock(mutex_);
    expected_ = raw_bytes;
  }
  void bytes_moved(std::string_view phase, uint64_t raw_bytes) override {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    Clock::time_point now = Clock::now();
    if (now - last_drawn_ < kRedrawEvery) return;
    last_drawn_ = now;
    double seconds = std::chrono::duration<double>(now - started_).count();
    std::fprintf(stderr, "\r\033[K%s", progress_line({phase, raw_bytes, expected_, seconds}).c_str());
  }
  void phase_finished(const PhaseReport& phase) override {
    if (enabled_) std::fprintf(stderr, "\r\033[K%-10s done in %.2f s\n", phase.name.c_str(), phase.seconds);
  }
  void volume_pass_finished(size_t number, const VolumePass& pass) override {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    expected_ = 0;  // the plan's sizes counted pass 1 only; how much a catch-up pass sends is not known
    std::fprintf(stderr, "\r\033[K%-10s volume pass %zu: %.1f MiB changed, %.1f MiB on the wire in %.2f s\n", "presync",
                 number, pass.raw_bytes / 1048576.0, pass.wire_bytes / 1048576.0, pass.seconds);
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kRedrawEvery{100};
  bool enabled_;
  std::mutex mutex_;
  Clock::time_point started_, last_drawn_;
  uint64_t expected_ = 0;
};

/// What the user reads when a signal arrives, from the watcher's thread.
void announce(migrate::Interruption::Effect effect, int signal) {
  const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
  switch (effect) {
    case migrate::Interruption::Effect::Stopping:
      spdlog::warn("{}: stopping the migration; the container keeps running here, or is resumed from its "
                   "checkpoint, before dockmig exits", name);
      break;
    case migrate::Interruption::Effect::Finishing:
      spdlog::warn("{}: the destination may be starting its copy already; dockmig waits for the migration's "
                   "decision before it exits", name);
      break;
    case migrate::Interruption::Effect::Repeated:
      spdlog::warn("{}: already stopping; dockmig exits once one copy of the container runs "
                   "(after kill -9 now, `dockmig recover` would have to settle it)", name);
      break;
  }
}

/// The exit status, and for a migration that completed though interrupted, a word on it.
int interrupted_exit(const migrate::MigrationOutcome& outcome, const migrate::Interruption& interruption) {
  if (!outcome.status) {
    report_error(outcome.status.error());
    return outcome.needs_attention ? kExitNeedsAttention : kExitInterrupted;
  }
  spdlog::warn("interrupted by {} when the migration could no longer stop: it completed, and the container runs "
               "at the destination", interruption.signal_name());
  return kExitInterrupted;
}

/// Takes "auto" or 1-19 and hands CLI11 the number (kZstdLevelAuto for auto).
CLI::Validator zstd_level_option() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        Result<int> level = transfer::parse_zstd_level(text);
        if (!level) return level.error().message + "; " + level.error().hint;
        text = std::to_string(*level);
        return {};
      },
      "auto|1-19");
}

}  // namespace

void add_bind_options(CLI::App& command, BindOptionTexts& texts) {
  command.add_option("--bind-map", texts.bind_map,
                     "SRC=DST: the bind mount of SRC mounts DST at the destination instead, a path\n"
                     "that must exist there (nothing is copied); repeatable. A bind mount without\n"
                     "a map or a copy is refused")
      ->type_name("SRC=DST");
  command.add_option("--copy-bind", texts.copy_binds,
                     "SRC: the bind-mounted directory SRC is copied to the destination like a volume\n"
                     "(whole while the container runs, what changed after the freeze), into a new\n"
                     "directory the destination's agent makes under its state dir, which the\n"
                     "container mounts there; repeatable. Directories only; never under /proc,\n"
                     "/sys, /dev, /run or Docker's data root")
      ->type_name("SRC");
}

Status read_bind_options(const BindOptionTexts& texts, MigrationRequest& request) {
  for (const std::string& text : texts.bind_map) {
    Result<BindMapping> mapping = migrate::parse_bind_mapping(text);
    if (!mapping) return std::move(mapping.error());
    request.bind_map.push_back(*mapping);
  }
  for (const std::string& text : texts.copy_binds) {
    Result<std::string> source = migrate::parse_copy_bind(text);
    if (!source) return std::move(source.error());
    request.copy_binds.push_back(*source);
  }
  return {};
}

VerbRunner define_migrate(CLI::App& command) {
  auto request = std::make_shared<MigrationRequest>();
  auto as_json = std::make_shared<bool>(false);
  request->docker = docker::EngineClient::default_address();
  command.add_option("container", request->container, "Name or id of the running container")->required();
  command.add_option("destination", request->destination,
                     "ADDR:PORT of the destination's agent (`dockmig serve` there)")->required();
  command.add_option("--docker", request->docker, "Socket of the local dockerd")->capture_default_str();
  command.add_option("--name", request->target_name, "Name at the destination (default: the same)");
  command.add_flag("--keep-source", request->keep_source,
                   "Keep the stopped source container instead of removing it");
  command.add_flag("--dry-run", request->dry_run, "Say what would move and how big; move nothing");
  auto binds = std::make_shared<BindOptionTexts>();
  add_bind_options(command, *binds);
  auto tcp = std::make_shared<std::string>("close");
  command.add_option("--tcp", *tcp,
                     "The container's open TCP connections: close (they end at the freeze; clients\n"
                     "reconnect to the destination) or established (restored open at the destination, so a\n"
                     "client routed to the container's address keeps its connection; needs every\n"
                     "address kept: user-defined networks only, refused before the freeze otherwise)")
      ->check(CLI::IsMember({"close", "established"}))->capture_default_str();
  command.add_option("--zstd-level", request->zstd_level,
                     "Compression level: auto (chosen per blob from the measured link rate and how\n"
                     "fast this CPU compresses a sample of it) or 1-19 for every blob")
      ->transform(zstd_level_option())->type_name("LEVEL")->default_str("auto");
  auto mode = std::make_shared<std::string>("pre-copy");
  command.add_option("--mode", *mode,
                     "How memory moves: pre-copy (in rounds while the container runs; only what\n"
                     "changed since crosses after the freeze; it turns hybrid when the container\n"
                     "writes memory faster than the link carries it), stop-and-copy (all after the\n"
                     "freeze), post-copy (the container restores at the destination right after the\n"
                     "freeze, which then fetches its memory from the source as it is touched), or\n"
                     "hybrid (pre-copy rounds, then post-copy for what they left). Post-copy and\n"
                     "hybrid need a destination that restores lazily (`dockmig doctor`), else they\n"
                     "fall back to stop-and-copy and pre-copy; until every page is in, the source\n"
                     "keeps its checkpoint, and a link lost for good fails the handoff back to it")
      ->check(CLI::IsMember({"pre-copy", "stop-and-copy", "post-copy", "hybrid"}))->capture_default_str();
  auto restore = std::make_shared<std::string>("auto");
  command.add_option("--restore", *restore,
                     "How the destination puts memory back: eager (every page before the container\n"
                     "runs), lazy (it runs at once; CRIU's lazy-pages daemon fills its memory behind\n"
                     "it from the images there, and the source is removed once every page is in), or\n"
                     "auto: lazy when the checkpoint's memory reaches " +
                         base::human_bytes(migrate::kLazyRestoreMinBytes) + ", else eager.\n"
                     "A destination that cannot restores eagerly and the report says why")
      ->check(CLI::IsMember({"auto", "eager", "lazy"}))->capture_default_str();
  command.add_option("--precopy-target", request->precopy_target_seconds,
                     "Pre-copy (memory rounds, volume passes) freezes once what is left would cross the link in this many seconds")
      ->check(CLI::Range(0.01, 60.0))->capture_default_str();
  if (const char* criu = std::getenv("DOCKMIG_CRIU")) request->criu = criu;
  command.add_option("--criu", request->criu,
                     "CRIU binary for the page server that takes the memory at the freeze; the\n"
                     "same CRIU that dockerd runs (env DOCKMIG_CRIU)")->capture_default_str();
  command.add_flag("--json", *as_json, "Print the report as one JSON object on stdout");
  auto prepared = std::make_shared<bool>(false);
  command.add_flag("--prepared", *prepared,
                   "First warm the destination (image and writable layer, as POST /v1/prepare does),\n"
                   "then hand off; the handoff then sends only what changed since");
  command.add_option("--state-dir", request->state_dir,
                     "Where the migration's journal is kept once the container may stop, for\n"
                     "`dockmig recover`; the agent's --state-dir on this host")->capture_default_str();
  auto fleet = std::make_shared<FleetIdentity>();
  add_fleet_options(command, *fleet)
      ->description("The fleet's etcd client URLs, URL[,URL...]: commit the handoff through the\n"
                    "service's ownership record there (docs/fleet.md); the destination's agent\n"
                    "must run with --etcd too");
  add_transport_options(command, request->security);
  command.add_option("--tls-server-name", request->security.server_name,
                     "Name the destination's certificate must carry (default: the address in DEST)");
  command.footer(
      "Phases: plan, image, presync, precopy, checkpoint, finalsync, restore, confirm.\n"
      "Image layers are fetched by the destination (cache, then registry, else sent by\n"
      "this host); the writable layer is sent while the container runs, and only what\n"
      "changed since then plus the CRIU checkpoint after it is frozen. Memory moves in\n"
      "pre-copy rounds while it runs; each round sends the pages whose content the\n"
      "destination does not hold yet, until what is left is small or stops shrinking.\n"
      "Exit status: 0 migrated; 1 failed and the source runs; 2 bad input;\n"
      "3 needs attention (the message says what to check; `dockmig recover` settles it\n"
      "once the destination answers); 130 interrupted.\n"
      "SIGINT (Ctrl-C) or SIGTERM stops the migration: before the checkpoint crosses\n"
      "the link the source keeps running, or is resumed from its checkpoint; after, the\n"
      "migration runs on to its end (the copy runs at the destination, or the source\n"
      "is resumed). Either way dockmig exits 130 once one copy runs. Further signals\n"
      "are ignored until then; after kill -9 `dockmig recover` settles it from the journal.\n"
      "The link is TLS (--tls-cert, --tls-key, --tls-ca; see `dockmig certs`) unless both\n"
      "ends run with --insecure.\n"
      "Example: dockmig migrate web 10.77.1.2:7070 --tls-cert edge-a.pem --tls-key edge-a-key.pem --tls-ca ca.pem");
  return [request, as_json, prepared, mode, restore, binds, tcp, fleet]() -> int {
    if (Status read = read_bind_options(*binds, *request); !read) return report_error(read.error());
    request->memory_mode = *mode == "stop-and-copy" ? MemoryMode::StopAndCopy
                           : *mode == "post-copy"   ? MemoryMode::PostCopy
                           : *mode == "hybrid"      ? MemoryMode::Hybrid
                                                    : MemoryMode::PreCopy;
    request->tcp = parse_tcp_mode(*tcp).value_or(TcpMode::Close);
    request->restore = parse_restore_mode(*restore).value_or(RestoreMode::Auto);
    if (request->dry_run) {
      Result<docker::EngineClient> engine = docker::EngineClient::open(request->docker);
      if (!engine) return report_error(engine.error());
      Result<migrate::MigrationPlan> plan = migrate::make_plan(*engine, request->container, request->bind_map, request->tcp,
                                                                 request->copy_binds);
      if (!plan) return report_error(plan.error());
      if (*as_json) std::printf("%s\n", migrate::to_json(*plan).dump(2).c_str());
      else std::printf("%sdry run: nothing was moved\n", migrate::to_text(*plan).c_str());
      return plan->blockers.empty() ? kExitSuccess : kExitBadInput;
    }
    if (Status checked = migrate::check_transport_security(request->security); !checked)
      return report_error(checked.error());
    if (Result<std::shared_ptr<const migrate::Ownership>> ownership = open_ownership(*fleet); ownership)
      request->ownership = *ownership;
    else
      return report_error(ownership.error());
    // Not on a pipe: the report on stdout is then a program's input, or a file's.
    TerminalProgress progress(!*as_json && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO));
    // The agent's preparations too: a gateway may have prepared through its API.
    if (!request->state_dir.empty())
      migrate::warm_store().persist_in(std::filesystem::path(request->state_dir) / "warm");
    if (*prepared) {
      migrate::PrepareRequest warm{request->destination, request->docker, "", request->container, request->security};
      Result<migrate::PrepareReport> done = migrate::prepare_destination(warm, progress);
      if (!done) return report_error(std::move(done.error()).wrap("preparing the destination"));
      std::fprintf(stderr, "prepared %s: image from %s, %llu bytes on the wire in %.2f s\n", request->destination.c_str(),
                   done->image_source.c_str(), static_cast<unsigned long long>(done->wire_bytes), done->seconds);
    }
    migrate::Interruption interruption;
    migrate::MigrationOutcome outcome;
    {
      SignalWatcher watcher([&interruption](int signal) { announce(interruption.request(signal), signal); });
      outcome = migrate::run_migration(*request, progress, interruption);
    }
    if (*as_json) std::printf("%s\n", to_json(outcome.report).dump(2).c_str());
    else if (!outcome.report.phases.empty()) std::printf("%s", to_text(outcome.report).c_str());
    if (interruption.signal()) return interrupted_exit(outcome, interruption);
    if (outcome.status) return kExitSuccess;
    int code = report_error(outcome.status.error());
    return outcome.needs_attention ? kExitNeedsAttention : code;
  };
}

}  // namespace dockmig::cli
