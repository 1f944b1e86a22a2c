// The destination's copy of the pages that pre-copy sent: an append-only file, page i at
// offset i * 4096, and the hash each page had when it arrived. A page read back is checked
// against that hash, so a store damaged on disk is caught before a restore uses it.
#pragma once

#include <filesystem>
#include <vector>

#include "base/unique_fd.h"
#include "dockmig/result.h"
#include "memory/page.h"

namespace dockmig::memory {

class PageStore {
 public:
  static Result<PageStore> create(const std::filesystem::path& file);

  /// Stores a page under the next index (size() before the call).
  Status append(PageView page);
  uint32_t size() const { return static_cast<uint32_t>(hashes_.size()); }
  /// Reads the pages from `first` on into `out` (a whole number of pages) in one call,
  /// unchecked: how many were read whole, fewer when the file ends early.
  Result<uint32_t> read_run(uint32_t first, std::span<std::byte> out) const;
  /// Whether `page` is what was stored under `index`.
  bool holds(uint32_t index, PageView page) const { return index < size() && hash_page(page) == hashes_[index]; }
  /// Writes a fresh copy of a damaged page.
  Status replace(uint32_t index, PageView page);
  const std::filesystem::path& path() const { return path_; }

 private:
  PageStore(base::UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status write_at(uint32_t index, PageView page);

  base::UniqueFd fd_;
  std::filesystem::path path_;
  std::vector<PageHash> hashes_;
};

}  // namespace dockmig::memory
