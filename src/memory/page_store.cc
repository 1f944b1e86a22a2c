#include "memory/page_store.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace dockmig::memory {

Result<PageStore> PageStore::create(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorCode::Io, "cannot create page store `" + file.string() + "`: " + std::strerror(errno));
  return PageStore(base::UniqueFd(fd), file);
}

Status PageStore::write_at(uint32_t index, PageView page) {
  ssize_t written = ::pwrite(fd_.get(), page.data(), kPageSize, static_cast<off_t>(index) * kPageSize);
  if (written != static_cast<ssize_t>(kPageSize))
    return make_error(ErrorCode::Io, "writing page store `" + path_.string() + "`: " +
                                         (written < 0 ? std::strerror(errno) : "short write"));
  return {};
}

Status PageStore::append(PageView page) {
  Status written = write_at(size(), page);
  if (written) hashes_.push_back(hash_page(page));
  return written;
}

Result<uint32_t> PageStore::read_run(uint32_t first, std::span<std::byte> out) const {
  uint64_t count = out.size() / kPageSize;
  if (first >= size() || count > size() - first)
    return make_error(ErrorCode::InvalidInput, "pages " + std::to_string(first) + "+" + std::to_string(count) +
                                                   " are not in the store (it holds " + std::to_string(size()) + ")");
  ssize_t got = ::pread(fd_.get(), out.data(), count * kPageSize, static_cast<off_t>(first) * kPageSize);
  if (got < 0) return make_error(ErrorCode::Io, "reading page store `" + path_.string() + "`: " + std::strerror(errno));
  return static_cast<uint32_t>(static_cast<size_t>(got) / kPageSize);
}

Status PageStore::replace(uint32_t index, PageView page) {
  if (index >= size()) return make_error(ErrorCode::InvalidInput, "replacing page " + std::to_string(index) + " beyond the store");
  if (hash_page(page) != hashes_[index])
    return make_error(ErrorCode::InvalidInput, "the page sent again for store index " + std::to_string(index) +
                                                   " differs from the one first sent");
  return write_at(index, page);
}

}  // namespace dockmig::memory
