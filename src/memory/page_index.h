// Compact lookups for the pages pre-copy keeps track of. A GiB of memory is 262,144 pages,
// and node-based maps spent about 100 bytes on each of them, which put the source's peak
// RSS over its 64 MB budget for a 1 GiB container. Open addressing with linear probing:
// the page hashes are uniform already, so their low bits pick the slot.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "memory/page.h"

namespace dockmig::memory {

/// What a destination's page store holds, by store index, and found by content: 16 bytes
/// of hash per page plus 6-12 bytes of table.
class HeldPages {
 public:
  /// Adds a page under the next index (size() before the call).
  uint32_t add(const PageHash& hash);
  std::optional<uint32_t> find(const PageHash& hash) const;
  const PageHash& at(uint32_t index) const { return hashes_[index]; }
  uint32_t size() const { return static_cast<uint32_t>(hashes_.size()); }

 private:
  void place(uint32_t index);
  void grow();

  std::vector<PageHash> hashes_;
  std::vector<uint32_t> slots_;  // index + 1; 0 is empty
};

/// A set of page addresses (keys from a pid and a page number): 11-23 bytes per address.
class PageAddressSet {
 public:
  /// Adds `key` (any value but UINT64_MAX); whether it was not there before.
  bool insert(uint64_t key);
  size_t size() const { return count_; }

 private:
  /// The slot holding `key`, or the empty slot where it belongs.
  uint64_t& slot_for(uint64_t key);
  void grow();

  std::vector<uint64_t> slots_;  // UINT64_MAX is empty
  size_t count_ = 0;
};

}  // namespace dockmig::memory
