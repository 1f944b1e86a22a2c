// zstd streaming compression as pipeline stages, and a counter to measure a stage's bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "transfer/byte_stream.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace dockmig::transfer {

/// Compresses what it is written into `next`; finish() ends the zstd frame and finishes `next`.
class ZstdCompressSink : public ByteSink {
 public:
  ZstdCompressSink(ByteSink& next, int level);
  /// Compresses with `context`, borrowed (and reset here), so that its tables are allocated
  /// once for many streams instead of per stream (up to 90 MiB at level 19).
  ZstdCompressSink(ByteSink& next, int level, ZSTD_CCtx_s* context);
  ~ZstdCompressSink() override;
  Status write(std::span<const std::byte> data) override;
  Status finish() override;

 private:
  ByteSink& next_;
  ZSTD_CCtx_s* context_;
  bool owns_context_ = false;
  std::vector<std::byte> out_;
};

/// Yields the decompressed bytes of the zstd stream read from `source`; a truncated or
/// corrupt stream is an error, not a short read.
class ZstdDecompressSource : public ByteSource {
 public:
  explicit ZstdDecompressSource(ByteSource& source);
  ~ZstdDecompressSource() override;
  Result<size_t> read(std::span<std::byte> buffer) override;

 private:
  ByteSource& source_;
  ZSTD_DCtx_s* context_;
  std::vector<std::byte> in_;
  size_t in_pos_ = 0, in_size_ = 0;
  bool source_ended_ = false, frame_complete_ = true;
};

/// Passes bytes through to `next`, counting them.
class CountingSink : public ByteSink {
 public:
  explicit CountingSink(ByteSink& next) : next_(next) {}
  Status write(std::span<const std::byte> data) override;
  Status finish() override { return next_.finish(); }
  uint64_t count() const { return count_; }

 private:
  ByteSink& next_;
  uint64_t count_ = 0;
};

}  // namespace dockmig::transfer
