#include "memory/page.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <xxhash.h>

#include "base/unique_fd.h"

namespace dockmig::memory {

PageHash hash_page(PageView page) {
  XXH128_hash_t hash = XXH3_128bits(page.data(), page.size());
  return {hash.low64, hash.high64};
}

std::array<std::byte, kPageHashBytes> hash_bytes(const PageHash& hash) {
  std::array<std::byte, kPageHashBytes> bytes;
  std::memcpy(bytes.data(), &hash.low, 8);
  std::memcpy(bytes.data() + 8, &hash.high, 8);
  return bytes;
}

PageHash hash_from_bytes(std::span<const std::byte, kPageHashBytes> bytes) {
  PageHash hash;
  std::memcpy(&hash.low, bytes.data(), 8);
  std::memcpy(&hash.high, bytes.data() + 8, 8);
  return hash;
}

std::string to_hex(const PageHash& hash) {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(hash.high),
                static_cast<unsigned long long>(hash.low));
  return text;
}

bool is_zero_page(PageView page) {
  static const std::byte kZeros[kPageSize] = {};
  return std::memcmp(page.data(), kZeros, kPageSize) == 0;
}

Status for_each_page_of_file(const std::filesystem::path& file, const std::function<Status(PageView)>& visit) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return make_error(ErrorCode::Io, "cannot open `" + file.string() + "`: " + std::strerror(errno));
  std::vector<std::byte> buffer(256 * kPageSize);
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) return make_error(ErrorCode::Io, "reading `" + file.string() + "`: " + std::strerror(errno));
    if (got == 0) return {};
    if (got % kPageSize != 0)
      return make_error(ErrorCode::ToolFailed, "`" + file.string() + "` is not a whole number of pages");
    for (ssize_t at = 0; at < got; at += kPageSize)
      if (Status visited = visit(PageView(buffer.data() + at, kPageSize)); !visited) return visited;
  }
}

StreamDigest::StreamDigest() : state_(XXH3_createState()) { XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)); }

StreamDigest::~StreamDigest() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void StreamDigest::update(std::span<const std::byte> data) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), data.data(), data.size());
}

PageHash StreamDigest::digest() const {
  XXH128_hash_t hash = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  return {hash.low64, hash.high64};
}

}  // namespace dockmig::memory
