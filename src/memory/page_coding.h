// How a page that the destination does not hold crosses the link: as it is, or as the
// differences between its consecutive 32-bit words, laid out one byte plane after another
// (all the lowest bytes, then all the second bytes...). Arrays of integers that grow
// smoothly, such as the integral images a vision service rebuilds for every frame, turn
// into small differences whose high planes are nearly all zeros, which zstd then packs; in
// the bench's face service that took the pages written after the freeze from 1.80 to
// 1.10 MB at zstd 19 (docs/design.md, "Pages coded as word differences"). A page crosses
// as differences only when a trial at zstd's fast level -1 packs them clearly smaller.
//   coded page: u8 tag (0 as it is, 1 word differences) | 4096 bytes
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dockmig/result.h"
#include "memory/page.h"

struct ZSTD_CCtx_s;

namespace dockmig::memory {

inline constexpr size_t kCodedPageSize = 1 + kPageSize;

enum class PageCoding : uint8_t { AsIs = 0, WordDifferences = 1 };

class PageEncoder {
 public:
  PageEncoder();
  ~PageEncoder();
  PageEncoder(PageEncoder&&) noexcept;
  PageEncoder& operator=(PageEncoder&&) noexcept;

  /// Appends `page`'s coded form to `out`.
  void encode(PageView page, std::vector<std::byte>& out);
  /// How many pages encode() sent as word differences.
  uint64_t word_difference_pages() const { return word_difference_pages_; }

 private:
  size_t trial_size(std::span<const std::byte> data);

  struct FreeContext {
    void operator()(ZSTD_CCtx_s* context) const;
  };
  std::unique_ptr<ZSTD_CCtx_s, FreeContext> trial_;
  std::vector<std::byte> trial_out_;
  std::array<std::byte, kPageSize> differences_{};
  uint64_t word_difference_pages_ = 0;
};

/// The page `coded` holds, into `page`; an unknown tag is an error.
Status decode_page(std::span<const std::byte, kCodedPageSize> coded, std::span<std::byte, kPageSize> page);

/// The word-difference form of `page`, and back (exposed for the tests).
void to_word_differences(PageView page, std::span<std::byte, kPageSize> out);
void from_word_differences(std::span<const std::byte, kPageSize> coded, std::span<std::byte, kPageSize> page);

}  // namespace dockmig::memory
