// A CRIU pages image as it crosses the link after a pre-copy: runs of zero pages, runs of
// pages the destination's store already holds (by store index), and literal pages.
// Consecutive pages of a dump are usually consecutive in the store, since pre-copy read
// them in the same address order, so a whole image of known pages is a few records.
//   'Z' u32 count | 'K' u32 first u32 count | 'L' u32 count, count * 4096 bytes
//   | 'D' u32 count, count * 16-byte page hashes (pages left at the source for post-copy:
//     the destination fetches each when it is wanted, and checks it against its hash)
// Integers are little-endian; a run never spans two images. When both sides code pages
// (memory/page_coding.h), each literal page is a coded page of 4097 bytes instead.
#pragma once

#include <cstdint>
#include <vector>

#include "dockmig/result.h"
#include "memory/page.h"
#include "memory/page_coding.h"
#include "transfer/byte_stream.h"

namespace dockmig::memory {

class PageRecordWriter {
 public:
  /// With an `encoder`, literal pages cross coded.
  explicit PageRecordWriter(transfer::ByteSink& out, PageEncoder* encoder = nullptr) : out_(out), encoder_(encoder) {}
  Status zero();
  Status known(uint32_t index);
  Status literal(PageView page);
  /// A page the destination fetches later (post-copy), named by its hash.
  Status deferred(const PageHash& hash);
  /// Ends the open run; call at the end of each image.
  Status flush();

  enum class Run { None, Zero, Known, Literal, Deferred };

 private:
  Status start(Run run);

  transfer::ByteSink& out_;
  PageEncoder* encoder_;
  Run run_ = Run::None;
  uint32_t first_ = 0, count_ = 0;
  std::vector<std::byte> literals_;  // a literal run's pages, or a deferred run's hashes
};

/// What a reader hands on, in order.
class PageRecordVisitor {
 public:
  virtual ~PageRecordVisitor() = default;
  virtual Status zero(uint32_t count) = 0;
  virtual Status known(uint32_t first, uint32_t count) = 0;
  virtual Status literal(PageView page) = 0;
  /// Only where the source may defer pages; elsewhere a deferred page is an error.
  virtual Status deferred(const PageHash& hash);
};

/// Reads the records of one image of `pages` pages, its literal pages `coded` or not; a run
/// past its end, an unknown tag or a cut stream is an error naming it.
Status read_page_records(transfer::ByteSource& in, uint64_t pages, PageRecordVisitor& visitor, bool coded = false);
/// Reads one page, coded or not, into `page`; false at a clean end before its first byte.
Result<bool> read_page(transfer::ByteSource& in, bool coded, std::span<std::byte, kPageSize> page);

/// Reads exactly buffer.size() bytes; false at a clean end before the first byte.
Result<bool> read_exact(transfer::ByteSource& in, std::span<std::byte> buffer);

}  // namespace dockmig::memory
