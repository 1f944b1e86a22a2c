// `dockmig migrate CONTAINER DEST`: live-migrates a local container to the agent at DEST
// and prints the report. On a terminal a progress line follows each long phase.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/verbs.h"
#include "docker/engine_client.h"
#include "migrate/plan.h"
#include "migrate/prepare.h"
#include "migrate/session.h"
#include "migrate/source_migration.h"
#include "transfer/compression_level.h"

namespace dockmig::cli {
namespace {

class TerminalProgress : public migrate::Progress {
 public:
  explicit TerminalProgress(bool enabled) : enabled_(enabled) {}
  void phase_started(std::string_view phase) override {
    if (enabled_) std::fprintf(stderr, "\r\033[K%-10s ...", std::string(phase).c_str());
  }
  void bytes_moved(std::string_view phase, uint64_t raw_bytes) override {
    if (enabled_)
      std::fprintf(stderr, "\r\033[K%-10s %.1f MiB", std::string(phase).c_str(), raw_bytes / 1048576.0);
  }
  void phase_finished(const PhaseReport& phase) override {
    if (enabled_) std::fprintf(stderr, "\r\033[K%-10s done in %.2f s\n", phase.name.c_str(), phase.seconds);
  }

 private:
  bool enabled_;
};

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
  command.add_option("--zstd-level", request->zstd_level,
                     "Compression level: auto (chosen per blob from the measured link rate and how\n"
                     "fast this CPU compresses a sample of it) or 1-19 for every blob")
      ->transform(zstd_level_option())->type_name("LEVEL")->default_str("auto");
  auto mode = std::make_shared<std::string>("pre-copy");
  command.add_option("--mode", *mode,
                     "How memory moves: pre-copy (in rounds while the container runs; only what\n"
                     "changed since crosses after the freeze) or stop-and-copy (all after the freeze)")
      ->check(CLI::IsMember({"pre-copy", "stop-and-copy"}))->capture_default_str();
  command.add_option("--precopy-target", request->precopy_target_seconds,
                     "Pre-copy freezes once what is left would cross the link in this many seconds")
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
      "3 needs attention (the message says what to check).\n"
      "The link is TLS (--tls-cert, --tls-key, --tls-ca; see `dockmig certs`) unless both\n"
      "ends run with --insecure.\n"
      "Example: dockmig migrate web 10.77.1.2:7070 --tls-cert edge-a.pem --tls-key edge-a-key.pem --tls-ca ca.pem");
  return [request, as_json, prepared, mode]() -> int {
    request->memory_mode = *mode == "stop-and-copy" ? MemoryMode::StopAndCopy : MemoryMode::PreCopy;
    if (request->dry_run) {
      Result<docker::EngineClient> engine = docker::EngineClient::open(request->docker);
      if (!engine) return report_error(engine.error());
      Result<migrate::MigrationPlan> plan = migrate::make_plan(*engine, request->container);
      if (!plan) return report_error(plan.error());
      if (*as_json) std::printf("%s\n", migrate::to_json(*plan).dump(2).c_str());
      else std::printf("%sdry run: nothing was moved\n", migrate::to_text(*plan).c_str());
      return plan->blockers.empty() ? kExitSuccess : kExitBadInput;
    }
    if (Status checked = migrate::check_transport_security(request->security); !checked)
      return report_error(checked.error());
    TerminalProgress progress(!*as_json && isatty(STDERR_FILENO));
    if (*prepared) {
      migrate::PrepareRequest warm{request->destination, request->docker, "", request->container, request->security};
      Result<migrate::PrepareReport> done = migrate::prepare_destination(warm, progress);
      if (!done) return report_error(std::move(done.error()).wrap("preparing the destination"));
      std::fprintf(stderr, "prepared %s: image from %s, %llu bytes on the wire in %.2f s\n", request->destination.c_str(),
                   done->image_source.c_str(), static_cast<unsigned long long>(done->wire_bytes), done->seconds);
    }
    migrate::MigrationOutcome outcome = migrate::run_migration(*request, progress);
    if (*as_json) std::printf("%s\n", to_json(outcome.report).dump(2).c_str());
    else if (!outcome.report.phases.empty()) std::printf("%s", to_text(outcome.report).c_str());
    if (outcome.status) return kExitSuccess;
    int code = report_error(outcome.status.error());
    return outcome.needs_attention ? kExitNeedsAttention : code;
  };
}

}  // namespace dockmig::cli
