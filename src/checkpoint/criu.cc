// Probes the criu binary: its version and what `criu check` says this kernel supports.
// Dirty-memory tracking and lazy pages are asked for by feature name, because a plain
// `criu check` passes on kernels that lack them (it only warns), and whether hardware
// breakpoints fire is read from check's warnings: CRIU 4.2 then falls back by itself,
// while older CRIU hangs in dump unless CRIU_FAULT=130 is set.
#include "checkpoint/criu.h"

#include <linux/capability.h>
#include <unistd.h>

#include <regex>

#include "base/proc_status.h"
#include "base/subprocess.h"

namespace dockmig::checkpoint {
namespace {

std::string last_lines(const std::string& text, size_t count) {
  size_t pos = text.size();
  while (count-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

}  // namespace

std::string CriuCheck::last_lines(size_t count) const { return checkpoint::last_lines(output, count); }

Result<CriuVersion> parse_criu_version(const std::string& output) {
  static const std::regex kVersion(R"(Version:\s*(\d+)\.(\d+)(?:\.(\d+))?)");
  std::smatch match;
  if (!std::regex_search(output, match, kVersion))
    return make_error(ErrorCode::ToolFailed, "cannot read a version from criu's output: " +
                                                 last_lines(output, 2));
  CriuVersion version;
  version.major = std::stoi(match[1]);
  version.minor = std::stoi(match[2]);
  version.patch = match[3].matched ? std::stoi(match[3]) : 0;
  version.text = match[0].str().substr(match[0].str().find_first_of("0123456789"));
  return version;
}

bool has_effective_capability(const std::string& proc_status, int capability) {
  return base::proc_status_has_capability(proc_status, "CapEff", capability).value_or(false);
}

bool can_dump_other_users() {
  Result<std::string> status = base::read_proc_status(::getpid());
  return status && has_effective_capability(*status, CAP_SYS_RESOURCE);
}

std::string rlimit_dump_failure_hint(const std::string& criu_log_excerpt, bool can_dump_other_users) {
  if (can_dump_other_users || criu_log_excerpt.find("Can't get rlimit") == std::string::npos) return "";
  return std::string("CRIU lacks CAP_SYS_RESOURCE here, so it cannot dump a process of another user: run the "
                     "container's processes as root, or ") + kCapSysResourceFix;
}

Result<Criu> Criu::find(const std::string& binary) {
  std::string path = base::find_on_path(binary);
  if (path.empty())
    return make_error(ErrorCode::NotFound, "criu not found (looked for `" + binary + "`)",
                      "run tools/setup.sh, which installs CRIU 4.2 under third_party/criu, "
                      "and put third_party/criu/bin first on PATH");
  return Criu(path);
}

Result<CriuVersion> Criu::version() const {
  Result<base::Exit> exit = base::run({path_, "--version"});
  if (!exit) return std::move(exit.error()).wrap("criu --version");
  return parse_criu_version(exit->out + exit->err);
}

Result<CriuCheck> Criu::check() const {
  Result<base::Exit> check = base::run({path_, "check"});
  if (!check) return std::move(check.error()).wrap("criu check");
  std::string output = check->out + check->err;
  return CriuCheck{check->code == 0, output};
}

Result<CriuFeatures> Criu::probe() const {
  CriuFeatures features;
  Result<CriuCheck> check = this->check();
  if (!check) return std::move(check.error());
  features.check_passed = check->passed;
  features.check_output = last_lines(check->output, 6);
  features.breakpoints_broken = check->output.find("breakpoints don't seem to work") != std::string::npos;
  Result<base::Exit> lazy = base::run({path_, "check", "--feature", "uffd-noncoop"});
  if (!lazy) return std::move(lazy.error()).wrap("criu check --feature uffd-noncoop");
  features.lazy_pages = lazy->code == 0;
  return features;
}

}  // namespace dockmig::checkpoint
