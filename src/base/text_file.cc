// Whole-file reads with POSIX calls, so that a failure keeps its errno.
#include "base/text_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace dockmig::base {
namespace {

Error read_error(const std::filesystem::path& path) {
  ErrorCode code = errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io;
  return make_error(code, "cannot read `" + path.string() + "`: " + std::strerror(errno));
}

}  // namespace

Result<std::string> read_text_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return read_error(path);
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return read_error(path);
    if (got == 0) return text;
    text.append(buffer, static_cast<size_t>(got));
  }
}

Result<std::optional<std::string>> read_text_file_if_exists(const std::filesystem::path& path) {
  Result<std::string> text = read_text_file(path);
  if (text) return std::optional<std::string>(std::move(*text));
  if (text.error().code == ErrorCode::NotFound) return std::optional<std::string>();
  return std::move(text.error());
}

}  // namespace dockmig::base
