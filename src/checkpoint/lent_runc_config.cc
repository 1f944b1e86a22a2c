#include "checkpoint/lent_runc_config.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/text_file.h"
#include "checkpoint/runc_criu_config.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;
constexpr const char* kLockPath = "/run/dockmig-runc-conf.lock";
constexpr const char* kAbsentMark = "# dockmig: runc.conf did not exist\n";

fs::path saved_copy_path() { return fs::path(kRuncCriuConfigPath).string() + ".dockmig-saved"; }

Error io_error(const std::string& what) { return make_error(ErrorCode::Io, what + ": " + std::strerror(errno)); }

Result<base::UniqueFd> lock_config(int how) {
  base::UniqueFd fd(::open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return io_error(std::string("opening ") + kLockPath);
  while (::flock(fd.get(), how) != 0) {
    if (errno == EWOULDBLOCK) return make_error(ErrorCode::Conflict, "another dump or restore holds the runc.conf lock");
    if (errno != EINTR) return io_error(std::string("locking ") + kLockPath);
  }
  return fd;
}

Status write_atomically(const fs::path& path, const std::string& text) {
  fs::path temporary = path.string() + ".dockmig-new";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) return make_error(ErrorCode::Io, "cannot write `" + temporary.string() + "`");
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return io_error("replacing `" + path.string() + "`");
  return {};
}

// Puts the saved copy back (the caller holds the lock).
Status put_back_saved_config() {
  Result<std::optional<std::string>> saved_copy = base::read_text_file_if_exists(saved_copy_path());
  if (!saved_copy) return std::move(saved_copy.error());
  const std::optional<std::string>& saved = *saved_copy;
  if (!saved) return {};
  std::error_code ec;
  if (*saved == kAbsentMark) fs::remove(kRuncCriuConfigPath, ec);
  else if (Status written = write_atomically(kRuncCriuConfigPath, *saved); !written) return written;
  fs::remove(saved_copy_path(), ec);
  return {};
}

}  // namespace

std::string lent_tcp_lines(const std::string& original, TcpMode tcp) {
  TcpOptions configured = parse_criu_config(original);
  std::string lines;
  if (!configured.skip_in_flight) lines += "skip-in-flight\n";
  if (tcp == TcpMode::Established) {
    if (!configured.tcp_established) lines += "tcp-established\n";
  } else if (!configured.tcp_close && !configured.tcp_established) {
    lines += "tcp-close\n";
  }
  return lines;
}

std::string lent_config_text(const std::optional<std::string>& original, const std::string& lines, TcpMode tcp) {
  std::string kept;
  if (original) {
    std::istringstream in(*original);
    for (std::string line; std::getline(in, line);)
      kept += (tcp == TcpMode::Established && criu_config_option(line) == "tcp-close"
                   ? "# dockmig: off for one migration with --tcp established: " + line
                   : line) + "\n";
    kept += "\n";
  }
  return kept + lines + lent_tcp_lines(kept, tcp);
}

Result<LentRuncConfig> LentRuncConfig::install(const std::string& lines, TcpMode tcp) {
  Result<base::UniqueFd> lock = lock_config(LOCK_EX);
  if (!lock) return std::move(lock.error());
  if (Status repaired = put_back_saved_config(); !repaired) return std::move(repaired.error());
  Result<std::optional<std::string>> read = base::read_text_file_if_exists(kRuncCriuConfigPath);
  if (!read) return std::move(read.error());
  const std::optional<std::string>& original = *read;
  // The saved copy lives beside the file, in a dir that a host without CRIU's config lacks.
  std::error_code ec;
  fs::create_directories(fs::path(kRuncCriuConfigPath).parent_path(), ec);
  Status saved = write_atomically(saved_copy_path(), original ? *original : kAbsentMark);
  if (saved)
    saved = write_atomically(kRuncCriuConfigPath, lent_config_text(original, lines, tcp));
  if (!saved) {
    put_back_saved_config().ignore("the error that made us give up is reported instead");
    return std::move(saved.error());
  }
  return LentRuncConfig(std::move(*lock));
}

LentRuncConfig::~LentRuncConfig() {
  if (!lock_) return;
  Status restored = put_back_saved_config();
  if (!restored) spdlog::error("putting back {}: {}", kRuncCriuConfigPath, restored.error().describe());
}

Status repair_runc_criu_config() {
  if (!fs::exists(saved_copy_path())) return {};
  Result<base::UniqueFd> lock = lock_config(LOCK_EX | LOCK_NB);
  if (!lock) return lock.error().code == ErrorCode::Conflict ? Status{} : Status(std::move(lock.error()));
  spdlog::warn("{} was left changed by an interrupted dump or restore; putting it back", kRuncCriuConfigPath);
  return put_back_saved_config();
}

}  // namespace dockmig::checkpoint
