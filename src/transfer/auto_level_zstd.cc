// The zstd stage that measures before it compresses (auto_level_zstd.h). The trials'
// frames are made by ZstdCompressSink itself, so each trial costs what the stream will
// cost at that level, and the chosen trial's frame is sent as it is: of the trials, only
// the levels not chosen are extra work.
#include "transfer/auto_level_zstd.h"

#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace dockmig::transfer {
namespace {

using Clock = std::chrono::steady_clock;

// zstd compresses in blocks of 128 KiB: a trial checks its time after each, and a stream
// is compressed in such pieces.
constexpr size_t kPieceBytes = 128 * 1024;

/// Collects a trial's frame.
class FrameSink : public ByteSink {
 public:
  explicit FrameSink(std::vector<std::byte>& frame) : frame_(frame) {}
  Status write(std::span<const std::byte> data) override {
    frame_.insert(frame_.end(), data.begin(), data.end());
    return {};
  }
  Status finish() override { return {}; }

 private:
  std::vector<std::byte>& frame_;
};

}  // namespace

ZstdContext::ZstdContext() : context_(ZSTD_createCCtx()) {}

void ZstdContext::Free::operator()(ZSTD_CCtx_s* context) const { ZSTD_freeCCtx(context); }

Status ZstdContext::prepare(int level) {
  if (level <= prepared_level_) return {};
  std::vector<std::byte> frame;
  FrameSink sink(frame);
  ZstdCompressSink compressor(sink, level, get());
  std::byte one{};
  // The first write sets the context up for a stream of unknown size, as the real ones are.
  Status prepared = compressor.write(std::span(&one, 1));
  if (prepared) prepared = compressor.finish();
  if (!prepared) return std::move(prepared.error()).wrap("preparing zstd level " + std::to_string(level));
  prepared_level_ = level;
  return {};
}

Result<std::optional<LevelTrial>> try_level(std::span<const std::byte> sample, int level,
                                            std::vector<std::byte>& frame, ZstdContext& context,
                                            double give_up_after) {
  Clock::time_point begin = Clock::now();
  auto too_long = [&] { return std::chrono::duration<double>(Clock::now() - begin).count() >= give_up_after; };
  if (Status prepared = context.prepare(level); !prepared) return std::move(prepared.error());
  frame.clear();
  FrameSink sink(frame);
  ZstdCompressSink compressor(sink, level, context.get());
  Status compressed;
  for (size_t at = 0; at < sample.size() && compressed && !too_long(); at += kPieceBytes)
    compressed = compressor.write(sample.subspan(at, std::min(kPieceBytes, sample.size() - at)));
  if (compressed && !too_long()) compressed = compressor.finish();
  if (!compressed) return std::move(compressed.error()).wrap("trying zstd level " + std::to_string(level));
  if (too_long()) return std::optional<LevelTrial>();
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  return std::optional<LevelTrial>(LevelTrial{level, sample.size(), frame.size(), seconds});
}

AutoLevelZstdSink::AutoLevelZstdSink(ByteSink& next, double link_bytes_per_second, ZstdContext& context,
                                     bool may_grow_tables)
    : next_(next), frames_(next), link_bytes_per_second_(link_bytes_per_second), context_(context),
      may_grow_tables_(may_grow_tables), decided_(link_bytes_per_second <= 0) {}

Status AutoLevelZstdSink::Frames::write(std::span<const std::byte> data) {
  Clock::time_point begin = Clock::now();
  Status sent = next_.write(data);
  seconds += std::chrono::duration<double>(Clock::now() - begin).count();
  bytes += data.size();
  return sent;
}

Status AutoLevelZstdSink::write(std::span<const std::byte> data) {
  if (!decided_) {
    size_t taken = std::min(data.size(), kLevelSampleBytes - sample_.size());
    sample_.insert(sample_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(taken));
    data = data.subspan(taken);
    if (sample_.size() < kLevelSampleBytes) return {};
    if (Status decided = decide(); !decided) return decided;
  }
  // Large writes are compressed in pieces, so that the pace is checked on time.
  for (size_t at = 0; at < data.size(); at += kPieceBytes) {
    Status compressed = compress(data.subspan(at, std::min(kPieceBytes, data.size() - at)));
    if (!compressed) return compressed;
  }
  return {};
}

Status AutoLevelZstdSink::finish() {
  if (!decided_) {
    if (Status decided = decide(); !decided) return decided;
  }
  // After a sample that was the whole stream this ends with an empty frame (a few bytes).
  if (!frame_) frame_ = std::make_unique<ZstdCompressSink>(frames_, level_, context_.get());
  if (Status ended = frame_->finish(); !ended) return ended;
  return next_.finish();
}

Status AutoLevelZstdSink::decide() {
  decided_ = true;
  if (sample_.empty()) return {};  // an empty blob: nothing to weigh
  // Growing the tables for a blob that fits in the sample costs more than any level saves.
  bool may_grow = may_grow_tables_ && sample_.size() == kLevelSampleBytes;
  std::vector<std::vector<std::byte>> frames;
  for (int level : kCandidateZstdLevels) {
    if (!slower_levels_may_win(trials_, link_bytes_per_second_) || (!may_grow && !context_.ready_for(level))) break;
    frames.emplace_back();
    Result<std::optional<LevelTrial>> trial =
        try_level(sample_, level, frames.back(), context_, trial_time_limit(trials_, link_bytes_per_second_));
    if (!trial) return std::move(trial.error());
    if (!trial->has_value()) break;  // gave up: too slow to win
    trials_.push_back(**trial);
  }
  chosen_level_ = level_ = choose_level(trials_, link_bytes_per_second_);
  auto chosen = std::find_if(trials_.begin(), trials_.end(), [&](const LevelTrial& t) { return t.level == level_; });
  Status sent = frames_.write(frames[static_cast<size_t>(chosen - trials_.begin())]);
  sample_.clear();
  sample_.shrink_to_fit();
  return sent;
}

Status AutoLevelZstdSink::compress(std::span<const std::byte> data) {
  if (!frame_) frame_ = std::make_unique<ZstdCompressSink>(frames_, level_, context_.get());
  double link_seconds_before = frames_.seconds;
  uint64_t bytes_before = frames_.bytes;
  Clock::time_point begin = Clock::now();
  Status compressed = frame_->write(data);
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  pace_.raw_bytes += data.size();
  pace_.compressed_bytes += frames_.bytes - bytes_before;
  pace_.seconds += seconds - (frames_.seconds - link_seconds_before);
  if (!compressed || pace_.raw_bytes < kPaceCheckBytes) return compressed;
  return keep_up();
}

Status AutoLevelZstdSink::keep_up() {
  int level = level_to_keep_up(level_, pace_, link_bytes_per_second_);
  pace_ = {};
  if (level == level_) return {};
  Status ended = frame_->finish();
  frame_.reset();
  level_ = level;
  return ended;
}

}  // namespace dockmig::transfer
