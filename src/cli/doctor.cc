// `dockmig doctor`: can this host send and receive live migrations? Each check is one line
// with its status and, when it fails, what to do. Required checks decide the exit status;
// informational ones (lazy pages, pre-copy tracking, breakpoints) say what dockmig will
// do without them.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/criu.h"
#include "checkpoint/runc_criu_config.h"
#include "cli/verbs.h"
#include "docker/engine_client.h"
#include "docker/restore_support.h"
#include "docker/writable_layer.h"
#include "memory/write_tracker.h"

namespace dockmig::cli {
namespace {

enum class CheckStatus { Ok, Fail, Info };

struct Check {
  std::string name;
  CheckStatus status;
  std::string detail;
  std::string hint;
};

const char* status_word(CheckStatus status) {
  switch (status) {
    case CheckStatus::Ok: return "OK";
    case CheckStatus::Fail: return "FAIL";
    case CheckStatus::Info: return "INFO";
  }
  return "?";
}

void check_docker(const std::string& address, std::vector<Check>& checks) {
  Result<docker::EngineClient> client = docker::EngineClient::open(address);
  Result<docker::DaemonInfo> info =
      client ? client->info() : Result<docker::DaemonInfo>(client.error());
  if (!info) {
    checks.push_back({"docker daemon reachable", CheckStatus::Fail, info.error().message,
                      info.error().hint});
    return;
  }
  checks.push_back({"docker daemon reachable", CheckStatus::Ok,
                    address + " (Docker " + info->server_version + ")", ""});
  bool supported = docker::is_supported_storage_driver(info->storage_driver);
  checks.push_back({"image store", supported ? CheckStatus::Ok : CheckStatus::Fail, info->store_name(),
                    supported ? "" : "start dockerd with --storage-driver overlay2, or with the containerd image store"});
  if (Status access = docker::check_writable_layer_access(*info); !access)
    checks.push_back({"writable layers found", CheckStatus::Fail, access.error().message, access.error().hint});
  checks.push_back({"experimental features on",
                    info->experimental ? CheckStatus::Ok : CheckStatus::Fail,
                    info->experimental ? "checkpoints enabled" : "off: Docker refuses checkpoints",
                    info->experimental ? "" : "start dockerd with --experimental"});
  bool networked_restores = docker::restore_blocker(info->server_version, info->server_version, {}).empty();
  checks.push_back({"restores networked containers", CheckStatus::Info,
                    networked_restores ? "yes"
                                       : "no: Docker 27 and newer restore only networkless containers, and "
                                         "those only from Docker 27 or newer, so this host can be a source but "
                                         "refuses most handoffs to it "
                                         "(docs/design.md, \"Docker releases\")",
                    ""});
}

void check_criu_features(const checkpoint::Criu& criu, std::vector<Check>& checks) {
  Result<checkpoint::CriuFeatures> features = criu.probe();
  if (!features) {
    checks.push_back({"criu check passes", CheckStatus::Fail, features.error().message, ""});
    return;
  }
  checks.push_back({"criu check passes",
                    features->check_passed ? CheckStatus::Ok : CheckStatus::Fail,
                    features->check_passed ? "kernel supports checkpoint/restore"
                                           : features->check_output,
                    features->check_passed ? "" : "run `criu check` as root and read its errors"});
  checks.push_back({"lazy pages (uffd)", CheckStatus::Info,
                    features->lazy_pages ? "available: lazy restore here, and as a destination post-copy and hybrid"
                                         : "not available: restores are eager; as a destination, post-copy and hybrid "
                                           "fall back to stop-and-copy and pre-copy",
                    ""});
  checks.push_back({"hardware breakpoints", CheckStatus::Info,
                    features->breakpoints_broken
                        ? "do not fire here; CRIU >= 4.2 detects this and needs no CRIU_FAULT=130"
                        : "work; no no-breakpoints mode needed",
                    ""});
}

void check_criu(const std::string& binary, std::vector<Check>& checks) {
  Result<checkpoint::Criu> criu = checkpoint::Criu::find(binary);
  Result<checkpoint::CriuVersion> version =
      criu ? criu->version() : Result<checkpoint::CriuVersion>(criu.error());
  if (!version) {
    checks.push_back({"criu >= 4.2", CheckStatus::Fail, version.error().message,
                      version.error().hint});
    return;
  }
  bool recent = version->at_least(checkpoint::kMinCriuMajor, checkpoint::kMinCriuMinor);
  checks.push_back({"criu >= 4.2", recent ? CheckStatus::Ok : CheckStatus::Fail,
                    "criu " + version->text + " at " + criu->path(),
                    recent ? "" : "older CRIU cannot checkpoint TCP sockets on this kernel; "
                                  "run tools/setup.sh and put third_party/criu/bin first on PATH"});
  check_criu_features(*criu, checks);
  bool other_users = checkpoint::can_dump_other_users();
  checks.push_back({"CAP_SYS_RESOURCE", CheckStatus::Info,
                    other_users ? "held: containers whose processes run as other users can be dumped"
                                : "missing: CRIU cannot dump a process of another user than root "
                                  "(`Can't get rlimit`); containers running as root only",
                    other_users ? "" : checkpoint::kCapSysResourceFix});
}

// Informational: pre-copy works on every host; write tracking makes its rounds cheap.
void check_memory_tracking(std::vector<Check>& checks) {
  Status tracking = memory::write_tracking_supported();
  checks.push_back({"pre-copy tracking", CheckStatus::Info,
                    tracking ? "uffd-wp: rounds after the first read only the pages written since "
                               "(userfaultfd write-protect and PAGEMAP_SCAN)"
                             : "page-hash: every pre-copy round reads all of the memory (" +
                                   tracking.error().message + ")",
                    ""});
}

// Informational: dockmig adds what its own dumps need; a checkpoint made by hand does not.
void check_runc_criu_config(std::vector<Check>& checks) {
  checkpoint::TcpOptions options = checkpoint::read_runc_criu_config();
  std::string path = checkpoint::kRuncCriuConfigPath;
  std::string kept = options.tcp_established ? "kept (tcp-established in " + path + ")"
                                             : "closed at the freeze (tcp-close and skip-in-flight, lent for each dump)";
  checks.push_back({"CRIU options for TCP", CheckStatus::Info,
                    "clients' TCP connections are " + kept +
                        (options.ready_for_busy_services() ? "" : "; `docker checkpoint` by hand still needs them in " + path),
                    ""});
}

int print(const std::vector<Check>& checks, bool as_json) {
  bool ok = true;
  for (const Check& check : checks) ok &= check.status != CheckStatus::Fail;
  if (as_json) {
    nlohmann::json out = {{"ok", ok}, {"checks", nlohmann::json::array()}};
    for (const Check& c : checks)
      out["checks"].push_back(
          {{"name", c.name}, {"status", status_word(c.status)}, {"detail", c.detail}, {"hint", c.hint}});
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    for (const Check& c : checks) {
      std::printf("%-5s %-26s %s\n", status_word(c.status), c.name.c_str(), c.detail.c_str());
      if (!c.hint.empty()) std::printf("      fix: %s\n", c.hint.c_str());
    }
    std::printf("%s\n", ok ? "This host is ready for live migration."
                           : "This host is not ready: fix the FAIL lines above.");
  }
  return ok ? kExitSuccess : kExitFailure;
}

}  // namespace

VerbRunner define_doctor(CLI::App& command) {
  struct Options {
    std::string docker = docker::EngineClient::default_address();
    std::string criu = std::getenv("DOCKMIG_CRIU") ? std::getenv("DOCKMIG_CRIU") : "criu";
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--docker", options->docker, "Socket of the local dockerd")
      ->capture_default_str();
  command.add_option("--criu", options->criu, "CRIU binary to check (env DOCKMIG_CRIU)")
      ->capture_default_str();
  command.add_flag("--json", options->json, "Print the checks as one JSON object");
  command.footer(
      "Required checks print OK or FAIL; INFO lines describe optional capabilities.\n"
      "Exit status 0 when every required check passes, 1 otherwise.");
  return [options]() -> int {
    std::vector<Check> checks;
    check_docker(options->docker, checks);
    check_criu(options->criu, checks);
    check_runc_criu_config(checks);
    check_memory_tracking(checks);
    return print(checks, options->json);
  };
}

}  // namespace dockmig::cli
