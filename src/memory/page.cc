#include "memory/page.h"

#include <cstdio>
#include <cstring>

#include <xxhash.h>

namespace dockmig::memory {

PageHash hash_page(PageView page) {
  XXH128_hash_t hash = XXH3_128bits(page.data(), page.size());
  return {hash.low64, hash.high64};
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
