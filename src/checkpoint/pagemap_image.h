// CRIU's pagemap images, read without protobuf: which pages of a checkpoint's page images
// belong to which process address, and which of them a lazy restore may leave out.
// A pagemap-PID.img (or pagemap-shmem-ID.img) is a magic, then length-prefixed protobuf
// messages: a pagemap_head naming its pages image (pages-ID.img), then one pagemap_entry
// per run of pages. The runs that carry PE_PRESENT have their pages in the pages image,
// one after another in the order of the entries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::checkpoint {

inline constexpr uint32_t kPagemapInParent = 1u << 0;  // CRIU's PE_PARENT
inline constexpr uint32_t kPagemapLazy = 1u << 1;      // PE_LAZY: a lazy restore may leave it out
inline constexpr uint32_t kPagemapPresent = 1u << 2;   // PE_PRESENT: in the pages image

struct PagemapEntry {
  uint64_t vaddr = 0;
  uint64_t pages = 0;
  uint32_t flags = 0;
  bool present() const { return flags & kPagemapPresent; }
  bool lazy() const { return flags & kPagemapLazy; }
};

struct Pagemap {
  uint32_t pages_id = 0;
  std::vector<PagemapEntry> entries;
  std::string pages_image() const { return "pages-" + std::to_string(pages_id) + ".img"; }
  /// Where page `vaddr` is in the pages image (its page index), if it is there.
  std::optional<uint64_t> page_index(uint64_t vaddr) const;
};

/// Reads the pagemap image `file`.
Result<Pagemap> read_pagemap(const std::filesystem::path& file);

/// For each page image of the checkpoint in `images_dir`: per page, whether a lazy
/// restore leaves it out (the processes' private memory; shared memory never is).
using LazyPageFlags = std::map<std::string, std::vector<bool>>;
Result<LazyPageFlags> lazy_pages_of(const std::filesystem::path& images_dir);

/// The file of process `pid`'s pagemap in a checkpoint's images.
inline std::filesystem::path pagemap_file(const std::filesystem::path& images_dir, uint64_t pid) {
  return images_dir / ("pagemap-" + std::to_string(pid) + ".img");
}

}  // namespace dockmig::checkpoint
