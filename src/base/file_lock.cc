#include "base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace dockmig::base {

Result<UniqueFd> lock_exclusively(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return make_error(ErrorCode::Io, "cannot open `" + file.string() + "`: " + std::strerror(errno));
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return make_error(ErrorCode::Io, "cannot lock `" + file.string() + "`: " + std::strerror(errno));
  return fd;
}

}  // namespace dockmig::base
