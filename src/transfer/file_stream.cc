// Files as ByteSink / ByteSource over plain file descriptors. Every error names the path and
// carries strerror; short writes and EINTR are retried so callers see all-or-error.
#include "transfer/file_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dockmig::transfer {
namespace {

Error io_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(ErrorCode::Io, what + " `" + path.string() + "`: " + std::strerror(errno));
}

}  // namespace

Result<FileSink> FileSink::create(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", path);
  return FileSink(fd, path);
}

Status FileSink::write(std::span<const std::byte> data) {
  if (!fd_) return make_error(ErrorCode::Internal, "writing `" + path_.string() + "` after it was finished");
  while (!data.empty()) {
    ssize_t written = ::write(fd_.get(), data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return io_error("cannot write", path_);
    data = data.subspan(static_cast<size_t>(written));
  }
  return {};
}

Status FileSink::finish() {
  if (!fd_) return make_error(ErrorCode::Internal, "finishing `" + path_.string() + "` twice");
  int fd = fd_.release();
  // close() can report a deferred write error (NFS, quota); EINTR still closed the fd.
  if (::close(fd) != 0 && errno != EINTR) return io_error("cannot write", path_);
  return {};
}

Result<FileSource> FileSource::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  return FileSource(fd, path);
}

Result<size_t> FileSource::read(std::span<std::byte> buffer) {
  if (!fd_) return make_error(ErrorCode::Internal, "reading `" + path_.string() + "` after it was closed");
  while (true) {
    ssize_t got = ::read(fd_.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("cannot read", path_);
    return static_cast<size_t>(got);
  }
}

}  // namespace dockmig::transfer
