#include "memory/page_coding.h"

#include <zstd.h>

#include <cstring>
#include <string>

namespace dockmig::memory {
namespace {

constexpr size_t kWords = kPageSize / 4;
constexpr int kTrialLevel = -1;  // faster than level 1 and ranks the two forms as well
// The stream's compressor also matches across pages, which a page alone cannot show, so
// the differences must pack clearly smaller: by 5% (on face's whole memory that chose
// better than any smaller or larger margin tried, 0-20%).
constexpr size_t kDifferencesPercent = 95;

uint32_t load_word(const std::byte* at) {
  return static_cast<uint32_t>(at[0]) | static_cast<uint32_t>(at[1]) << 8 | static_cast<uint32_t>(at[2]) << 16 |
         static_cast<uint32_t>(at[3]) << 24;
}

void store_word(std::byte* at, uint32_t word) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::byte>(word >> (8 * i));
}

}  // namespace

void to_word_differences(PageView page, std::span<std::byte, kPageSize> out) {
  uint32_t previous = 0;
  for (size_t i = 0; i < kWords; ++i) {
    uint32_t word = load_word(page.data() + 4 * i);
    uint32_t difference = word - previous;
    previous = word;
    for (size_t plane = 0; plane < 4; ++plane)
      out[plane * kWords + i] = static_cast<std::byte>(difference >> (8 * plane));
  }
}

void from_word_differences(std::span<const std::byte, kPageSize> coded, std::span<std::byte, kPageSize> page) {
  uint32_t previous = 0;
  for (size_t i = 0; i < kWords; ++i) {
    uint32_t difference = 0;
    for (size_t plane = 0; plane < 4; ++plane)
      difference |= static_cast<uint32_t>(coded[plane * kWords + i]) << (8 * plane);
    previous += difference;
    store_word(page.data() + 4 * i, previous);
  }
}

void PageEncoder::FreeContext::operator()(ZSTD_CCtx_s* context) const { ZSTD_freeCCtx(context); }

PageEncoder::PageEncoder() : trial_(ZSTD_createCCtx()), trial_out_(ZSTD_compressBound(kPageSize)) {}
PageEncoder::~PageEncoder() = default;
PageEncoder::PageEncoder(PageEncoder&&) noexcept = default;
PageEncoder& PageEncoder::operator=(PageEncoder&&) noexcept = default;

size_t PageEncoder::trial_size(std::span<const std::byte> data) {
  size_t size =
      ZSTD_compressCCtx(trial_.get(), trial_out_.data(), trial_out_.size(), data.data(), data.size(), kTrialLevel);
  return ZSTD_isError(size) ? data.size() : size;  // no context (out of memory): as it is
}

void PageEncoder::encode(PageView page, std::vector<std::byte>& out) {
  to_word_differences(page, differences_);
  bool differences = trial_ && trial_size(differences_) * 100 < trial_size(page) * kDifferencesPercent;
  out.push_back(static_cast<std::byte>(differences ? PageCoding::WordDifferences : PageCoding::AsIs));
  if (differences) {
    out.insert(out.end(), differences_.begin(), differences_.end());
    ++word_difference_pages_;
  } else {
    out.insert(out.end(), page.begin(), page.end());
  }
}

Status decode_page(std::span<const std::byte, kCodedPageSize> coded, std::span<std::byte, kPageSize> page) {
  auto body = coded.subspan<1, kPageSize>();
  switch (static_cast<PageCoding>(coded[0])) {
    case PageCoding::AsIs:
      std::memcpy(page.data(), body.data(), kPageSize);
      return {};
    case PageCoding::WordDifferences:
      from_word_differences(body, page);
      return {};
  }
  return make_error(ErrorCode::InvalidInput,
                    "malformed page stream: unknown page coding " + std::to_string(static_cast<int>(coded[0])));
}

}  // namespace dockmig::memory
