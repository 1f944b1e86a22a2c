// A zstd stage that picks its own level from a sample of the data it compresses. It holds
// back the stream's first kLevelSampleBytes, compresses them at each candidate level
// (fastest first, until a slower level can no longer win), times each, and lets
// choose_level() weigh those trials against the link rate. It sends the chosen level's frame
// of the sample and compresses the rest at that level in a new frame: a zstd stream may
// hold several frames, and ZstdDecompressSource reads them all as one. After every
// kPaceCheckBytes it compares its own compression time with the link's time for the
// output, and steps down to a faster level (a new frame) when it has fallen behind.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "transfer/byte_stream.h"
#include "transfer/compression_level.h"
#include "transfer/zstd_stream.h"

namespace dockmig::transfer {

/// How much of a stream the trials compress: enough for a ratio, little enough that the
/// slow levels' trials cost a fraction of a second.
inline constexpr size_t kLevelSampleBytes = 256 * 1024;
/// How often a stream checks that its compressor keeps ahead of the link.
inline constexpr size_t kPaceCheckBytes = 512 * 1024;

/// A compression context kept for many streams and their trials. Allocating a context's
/// tables costs more than compressing a sample at the high levels (0.2-0.4 s against
/// 0.01-0.1 s for 256 KiB at levels 12-19 on the edge hosts), so one context serves them
/// all; it keeps the tables of the highest level it ran (15 MiB at level 19, zstd_stream.cc).
class ZstdContext {
 public:
  ZstdContext();
  ZSTD_CCtx_s* get() const { return context_.get(); }
  /// Allocates (and touches) the tables `level` needs, unless an earlier level's are big
  /// enough: 0.2-0.4 s each for levels 12-19 on the edge hosts, once per context.
  Status prepare(int level);
  /// Whether `level` can run without growing the tables by more than a few milliseconds.
  bool ready_for(int level) const { return level <= std::max(prepared_level_, kCheapTablesLevel); }

 private:
  struct Free {
    void operator()(ZSTD_CCtx_s* context) const;
  };
  static constexpr int kCheapTablesLevel = 6;  // 6 MiB of tables, about 10 ms
  std::unique_ptr<ZSTD_CCtx_s, Free> context_;
  int prepared_level_ = 0;  // the candidates' tables grow with their level
};

/// Compresses `sample` as one zstd frame at `level` into `frame` with `context`, and times it
/// (wall clock, so a CPU the container keeps busy counts as slower). Gives up, with no
/// trial, once it has taken `give_up_after` seconds: such a level cannot be chosen now.
/// Growing the context's tables for a level not run before counts: the first large blob
/// may stop short of the high levels, and a later one, with the tables there, goes on.
Result<std::optional<LevelTrial>> try_level(std::span<const std::byte> sample, int level,
                                            std::vector<std::byte>& frame, ZstdContext& context,
                                            double give_up_after = std::numeric_limits<double>::infinity());

class AutoLevelZstdSink : public ByteSink {
 public:
  /// Without a link rate (0) there is nothing to weigh: kDefaultZstdLevel, and no trials.
  /// `context` is borrowed for the trials and the stream. Without `may_grow_tables` (the
  /// container is frozen), and for a blob that fits in the sample, the trials stop at the
  /// levels the context's tables already serve: growing them costs up to 0.4 s a level.
  AutoLevelZstdSink(ByteSink& next, double link_bytes_per_second, ZstdContext& context, bool may_grow_tables = true);
  Status write(std::span<const std::byte> data) override;
  /// Decides on what was written if the sample is not full yet, then ends the stream.
  Status finish() override;

  /// The level the trials chose (kDefaultZstdLevel until the sample is decided).
  int chosen_level() const { return chosen_level_; }
  /// The level in use: lower than the chosen one once the compressor fell behind the link.
  int level() const { return level_; }
  /// The trials behind the choice, fastest level first; none when there was no link rate.
  const std::vector<LevelTrial>& trials() const { return trials_; }

 private:
  /// Passes the frames on to `next`, timing how long it takes them (the link, when the
  /// socket is full). A frame's end is not the stream's: finish() does nothing.
  class Frames : public ByteSink {
   public:
    explicit Frames(ByteSink& next) : next_(next) {}
    Status write(std::span<const std::byte> data) override;
    Status finish() override { return {}; }
    double seconds = 0;
    uint64_t bytes = 0;

   private:
    ByteSink& next_;
  };

  Status decide();
  /// Compresses `data` at the current level, keeping count of the compressor's own pace.
  Status compress(std::span<const std::byte> data);
  Status keep_up();
  ByteSink& next_;
  Frames frames_;
  double link_bytes_per_second_;
  ZstdContext& context_;
  bool may_grow_tables_;
  std::vector<std::byte> sample_;
  bool decided_;
  int chosen_level_ = kDefaultZstdLevel;
  int level_ = kDefaultZstdLevel;
  std::vector<LevelTrial> trials_;
  std::unique_ptr<ZstdCompressSink> frame_;  // the frame being written, after the sample's
  LevelTrial pace_;                          // this level since the last check
};

}  // namespace dockmig::transfer
