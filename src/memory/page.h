// A page of memory as dockmig moves it: 4 KiB, named by a 128-bit content hash.
// XXH3-128 rather than a cryptographic hash: a page is hashed at every pre-copy round and
// again at the freeze, where its cost is downtime, and only the container's own memory is
// ever compared with itself, so a crafted collision could only fool the container about
// its own earlier content.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "dockmig/result.h"

namespace dockmig::memory {

inline constexpr size_t kPageSize = 4096;
using PageView = std::span<const std::byte, kPageSize>;

struct PageHash {
  uint64_t low = 0, high = 0;
  bool operator==(const PageHash&) const = default;
};

PageHash hash_page(PageView page);
/// A hash as stored and sent (the return cache, blob `held-pages`): 16 bytes, the low
/// then the high 64 bits, little-endian.
inline constexpr size_t kPageHashBytes = 16;
std::array<std::byte, kPageHashBytes> hash_bytes(const PageHash& hash);
PageHash hash_from_bytes(std::span<const std::byte, kPageHashBytes> bytes);
/// 32 hex digits.
std::string to_hex(const PageHash& hash);
bool is_zero_page(PageView page);
/// Calls visit(page) for each page of `file` (CRIU's page images, and what is kept of
/// them), in order; a file that is not a whole number of pages is an error.
Status for_each_page_of_file(const std::filesystem::path& file, const std::function<Status(PageView)>& visit);

struct PageHashHasher {
  size_t operator()(const PageHash& hash) const { return static_cast<size_t>(hash.low); }
};

/// A whole file's digest, fed page by page (XXH3-128 streaming).
class StreamDigest {
 public:
  StreamDigest();
  ~StreamDigest();
  StreamDigest(const StreamDigest&) = delete;
  StreamDigest& operator=(const StreamDigest&) = delete;
  void update(std::span<const std::byte> data);
  PageHash digest() const;

 private:
  void* state_;
};

}  // namespace dockmig::memory
