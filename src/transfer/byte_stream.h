// The two narrow interfaces every streaming stage speaks: a sink that takes bytes and a
// source that yields them. Tar writers, compressors, the wire and files plug together
// through these, so no stage ever holds a whole file or image in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dockmig/result.h"

namespace dockmig::transfer {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(std::span<const std::byte> data) = 0;
  /// Flushes whatever the stage buffers; no write may follow.
  virtual Status finish() = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to buffer.size() bytes; 0 means the stream has ended.
  virtual Result<size_t> read(std::span<std::byte> buffer) = 0;
};

}  // namespace dockmig::transfer
