// Atomic, durable file replacement with POSIX calls: std::ofstream cannot fsync.
#include "base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace dockmig::base {
namespace {

Error io_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(ErrorCode::Io, "cannot " + what + " `" + path.string() + "`: " + std::strerror(errno));
}

Status sync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return io_error("open directory", dir);
  if (::fsync(fd.get()) != 0) return io_error("fsync directory", dir);
  return {};
}

Status write_all(int fd, std::string_view text, const std::filesystem::path& path) {
  while (!text.empty()) {
    ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return io_error("write", path);
    text.remove_prefix(static_cast<size_t>(written));
  }
  return {};
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return io_error("create", temporary);
    if (Status written = write_all(fd.get(), text, temporary); !written) return written;
    if (::fsync(fd.get()) != 0) return io_error("fsync", temporary);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    Error error = io_error("rename onto `" + path.string() + "`", temporary);
    ::unlink(temporary.c_str());
    return error;
  }
  return sync_directory(path.parent_path());
}

Status remove_file_durably(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return io_error("remove", path);
  }
  return sync_directory(path.parent_path());
}

Status create_directories_durably(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
  return sync_directory(dir.parent_path());
}

}  // namespace dockmig::base
