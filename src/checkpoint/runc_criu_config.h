#pragma once

#include <filesystem>
#include <string>

namespace dockmig::checkpoint {

/// runc hands this file to CRIU on every checkpoint and restore (unless a container sets
/// the org.criu.config annotation). It is the only way to give CRIU options through
/// Docker, whose checkpoint API has none.
inline constexpr const char* kRuncCriuConfigPath = "/etc/criu/runc.conf";

/// What runc's CRIU config says about TCP. Without both options, a container that a
/// client is talking to cannot be checkpointed: CRIU refuses a connection still in a
/// listen queue (skip-in-flight drops it) and an established one (tcp-close closes it;
/// it could not follow the container to another host anyway).
struct TcpOptions {
  bool file_exists = false;
  bool tcp_close = false;
  bool skip_in_flight = false;
  bool tcp_established = false;  // keeps connections; only useful when the IP moves too
  bool ready_for_busy_services() const { return skip_in_flight && (tcp_close || tcp_established); }
};

/// The option one line of CRIU's config names, without its leading "--"; "" for none.
std::string criu_config_option(const std::string& line);

/// Parses CRIU's config syntax: one option per line, with or without a leading "--",
/// `#` starts a comment.
TcpOptions parse_criu_config(const std::string& text);

/// Reads `path`; a missing file gives all options off.
TcpOptions read_runc_criu_config(const std::filesystem::path& path = kRuncCriuConfigPath);

/// The two lines that make busy TCP services checkpointable, for hints.
inline constexpr const char* kRuncCriuConfigFix =
    "add the lines `tcp-close` and `skip-in-flight` to /etc/criu/runc.conf (runc passes it "
    "to CRIU on every checkpoint and restore; the clients' open connections are closed)";

/// The hint for a failed dump: the config fix when CRIU's log blames a TCP connection
/// that the config would have let it drop, else empty.
std::string tcp_dump_failure_hint(const std::string& criu_log_excerpt, const TcpOptions& options);

}  // namespace dockmig::checkpoint
