// The pages of containers that left this host, kept for their return: when a user moves
// back to an edge it just left, the destination (this host again) already holds most of
// the container's memory, and only what changed since has to cross the link.
//
// A cache entry is the page images of the last checkpoint dumped here for one container
// (by name and image), hard-linked (or copied) into <dir>/<entry>/, and beside them
// `hashes`: the 16-byte hash of each of their pages, in order. <dir>/index.json lists the
// entries, their sizes and when each was last used; whole entries are evicted, least
// recently used first, while the cache is over its budget. Nothing in it is trusted: an
// index that does not parse drops the cache, an entry whose files do not match the index
// is dropped, and every page is checked against its hash when it is used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dockmig/result.h"
#include "memory/page.h"

namespace dockmig::memory {

/// Which container an entry is for: a different image means different memory. `image`
/// names the image the same way on every host (migrate/return_trip.h: its layers).
struct ReturnCacheKey {
  std::string container;
  std::string image;
};

/// What one use of an entry found.
struct ReturnCacheUse {
  uint64_t pages = 0;          // distinct, non-zero pages handed on
  uint64_t pages_damaged = 0;  // pages that failed their hash, left out
};

class ReturnCache {
 public:
  static constexpr uint64_t kDefaultBudget = uint64_t{1} << 30;

  /// The cache in `dir` (created when first written). Every call reads the index afresh
  /// under a lock: a migration's source (`dockmig migrate`) and the agent share it.
  explicit ReturnCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  /// Sets the budget (kept in the index, so that sources writing here obey it), drops
  /// damaged entries and leftovers of interrupted writes, and evicts down to it. 0
  /// disables the cache and empties it. The agent calls it at start.
  Status open(uint64_t budget_bytes);
  /// Keeps `page_images` (whole pages each) as the entry for `key`, replacing an older one,
  /// then evicts the least recently used entries beyond the budget. An entry larger than
  /// the budget is not kept.
  Status keep(const ReturnCacheKey& key, const std::vector<std::filesystem::path>& page_images);
  /// Hands `visit` each distinct non-zero page of the entry for `key` that matches its hash,
  /// and marks the entry used; no entry is not an error (nothing is visited).
  Result<ReturnCacheUse> replay(const ReturnCacheKey& key,
                                const std::function<Status(const PageHash&, PageView)>& visit) const;
  /// Bytes the entries take, as the index says.
  Result<uint64_t> bytes_used() const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace dockmig::memory
