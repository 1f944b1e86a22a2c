#pragma once

#include <string>

#include "dockmig/result.h"

namespace dockmig::checkpoint {

struct CriuVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string text;  // as criu printed it, e.g. "4.2.1"
  bool at_least(int want_major, int want_minor) const {
    return major > want_major || (major == want_major && minor >= want_minor);
  }
};

/// What this host's CRIU can do, found by asking it (never assumed).
struct CriuFeatures {
  bool check_passed = false;
  std::string check_output;        // the last lines of `criu check`, for a failed check
  bool lazy_pages = false;         // uffd + uffd-noncoop: post-copy restore possible
  bool breakpoints_broken = false; // hardware breakpoints do not fire (some VMs)
};

/// What a plain `criu check` said.
struct CriuCheck {
  bool passed = false;
  std::string output;  // stdout and stderr
  std::string last_lines(size_t count) const;
};

/// The minimum CRIU that can checkpoint TCP sockets on kernels >= 6.13.
inline constexpr int kMinCriuMajor = 4;
inline constexpr int kMinCriuMinor = 2;

/// The criu binary, run through base::run. All knowledge of CRIU flags lives here.
class Criu {
 public:
  /// `binary` may be a name looked up on PATH or a path.
  static Result<Criu> find(const std::string& binary = "criu");
  const std::string& path() const { return path_; }

  Result<CriuVersion> version() const;
  Result<CriuCheck> check() const;
  Result<CriuFeatures> probe() const;

 private:
  explicit Criu(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

/// Whether the effective capabilities in a /proc/PID/status text include `capability`.
bool has_effective_capability(const std::string& proc_status, int capability);

/// Whether this process may read the rlimits of another user's process (CAP_SYS_RESOURCE),
/// which CRIU needs to dump a container whose processes do not all run as root. Some
/// sandboxes drop it even from root.
bool can_dump_other_users();

/// What to do about a missing CAP_SYS_RESOURCE, for hints.
inline constexpr const char* kCapSysResourceFix =
    "give root (dockerd, and so CRIU) CAP_SYS_RESOURCE: a sandbox or a systemd "
    "CapabilityBoundingSet has removed it";

/// The hint for a failed dump: the capability fix when CRIU's log says it could not read
/// another user's rlimits and this host lacks the capability, else empty.
std::string rlimit_dump_failure_hint(const std::string& criu_log_excerpt, bool can_dump_other_users);

/// Parses `criu --version` output ("Version: 4.2.1" …).
Result<CriuVersion> parse_criu_version(const std::string& output);

}  // namespace dockmig::checkpoint
