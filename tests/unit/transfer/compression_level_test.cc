#include "transfer/compression_level.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "transfer/auto_level_zstd.h"
#include "transfer/link_rate.h"
#include "transfer/zstd_stream.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::transfer {
namespace {

using testing::VectorSink;

constexpr double kFiveMbit = 5e6 / 8;
constexpr double kTwentyMbit = 20e6 / 8;
constexpr double kGigabit = 1e9 / 8;

/// A level's trial on a 256 KiB sample from its speed (MB/s) and ratio.
LevelTrial trial(int level, double mb_per_second, double ratio) {
  constexpr uint64_t kSample = 256 * 1024;
  return {level, kSample, static_cast<uint64_t>(kSample / ratio), kSample / (mb_per_second * 1e6)};
}

/// Speeds and ratios shaped like zstd's on the edge hosts' CPU for compressible data.
std::vector<LevelTrial> edge_host_trials() {
  return {trial(1, 300, 3.0),  trial(3, 200, 3.3), trial(6, 100, 3.6), trial(9, 50, 3.8),
          trial(12, 25, 4.0),  trial(15, 12, 4.2), trial(19, 5, 4.8)};
}

TEST(ChooseLevel, ExpectsTheSlowerOfCompressorWithHeadroomAndLink) {
  LevelTrial compressor_bound{3, 1000, 500, 2.0};
  EXPECT_DOUBLE_EQ(expected_seconds(compressor_bound, 1000), 2.0 * kCompressorHeadroom);
  LevelTrial link_bound{3, 1000, 500, 0.1};
  EXPECT_DOUBLE_EQ(expected_seconds(link_bound, 100), 5.0);
}

TEST(ChooseLevel, PaysForAHighLevelOnASlowLink) {
  // Level 19 would send the least, but its compressor (with headroom) would fall behind.
  EXPECT_EQ(choose_level(edge_host_trials(), kFiveMbit), 15);
}

TEST(ChooseLevel, KeepsTheCompressorAheadOfAMiddlingLink) {
  // Level 15 compresses the sample in 22 ms (44 with headroom); the link sends its output in 25.
  EXPECT_EQ(choose_level(edge_host_trials(), kTwentyMbit), 12);
}

TEST(ChooseLevel, TakesTheFastestLevelOnAGigabitLink) {
  EXPECT_EQ(choose_level(edge_host_trials(), kGigabit), 1);
}

TEST(ChooseLevel, AFasterCpuAffordsAHigherLevelOnTheSameLink) {
  std::vector<LevelTrial> fast_cpu = edge_host_trials();
  for (LevelTrial& t : fast_cpu) t.seconds /= 10;
  EXPECT_EQ(choose_level(fast_cpu, kTwentyMbit), 19);
}

TEST(ChooseLevel, UsesTheDefaultWithoutALinkRateOrTrials) {
  EXPECT_EQ(choose_level(edge_host_trials(), 0), kDefaultZstdLevel);
  EXPECT_EQ(choose_level({}, kFiveMbit), kDefaultZstdLevel);
}

TEST(ChooseLevel, ASlowerLevelMustSaveMoreThanTheMargin) {
  std::vector<LevelTrial> close = {{1, 1000, 500, 0.01}, {9, 1000, 497, 0.05}};  // 0.6% smaller
  EXPECT_EQ(choose_level(close, 100), 1);
  std::vector<LevelTrial> clear = {{1, 1000, 500, 0.01}, {9, 1000, 490, 0.05}};  // 2% smaller
  EXPECT_EQ(choose_level(clear, 100), 9);
}

TEST(ChooseLevel, StopsTryingOnceCompressionAloneCannotWin) {
  std::vector<LevelTrial> trials = edge_host_trials();
  std::span<const LevelTrial> all(trials);
  EXPECT_TRUE(slower_levels_may_win({}, kGigabit));
  EXPECT_FALSE(slower_levels_may_win(all.first(1), kGigabit));  // level 1 is compressor-bound already
  EXPECT_TRUE(slower_levels_may_win(all.first(1), kFiveMbit));
  EXPECT_TRUE(slower_levels_may_win(all.first(5), kTwentyMbit));
  // Level 15 took 22 ms; to beat level 12 (26 ms) a slower level must compress in 13.
  EXPECT_FALSE(slower_levels_may_win(all.first(6), kTwentyMbit));
  EXPECT_FALSE(slower_levels_may_win({}, 0));  // nothing to weigh without a link rate
}

TEST(ChooseLevel, ATrialMayRunUntilItsLevelCannotWin) {
  std::vector<LevelTrial> trials = edge_host_trials();
  EXPECT_EQ(trial_time_limit({}, kFiveMbit), std::numeric_limits<double>::infinity());
  // After level 1 (its 87 kB take 0.14 s at 5 Mbit/s) a slower level must expect under 97%
  // of that, which its compressor with headroom reaches at half of it.
  double level_one_seconds = expected_seconds(trials[0], kFiveMbit);
  EXPECT_DOUBLE_EQ(trial_time_limit(std::span(trials).first(1), kFiveMbit),
                   level_one_seconds * (1 - kMinGainOfSlowerLevel) / kCompressorHeadroom);
}

TEST(KeepUp, StepsDownToTheNextFasterCandidateWhenTheCompressorFallsBehind) {
  // 1 MiB at level 19 compressed to 100 kB in 1 s; the link takes 100 kB in 0.16 s at 5 Mbit/s.
  LevelTrial behind{19, 1 << 20, 100'000, 1.0};
  EXPECT_EQ(level_to_keep_up(19, behind, kFiveMbit), 15);
  EXPECT_EQ(level_to_keep_up(12, behind, kFiveMbit), 9);
  EXPECT_EQ(level_to_keep_up(1, behind, kFiveMbit), 1);  // nothing faster
}

TEST(KeepUp, StaysWhileTheCompressorIsAheadOrWithinTheMargin) {
  LevelTrial ahead{19, 1 << 20, 100'000, 0.1};
  EXPECT_EQ(level_to_keep_up(19, ahead, kFiveMbit), 19);
  LevelTrial just_behind{19, 1 << 20, 625'000, 1.05};  // 5% over the link's 1 s
  EXPECT_EQ(level_to_keep_up(19, just_behind, kFiveMbit), 19);
  EXPECT_EQ(level_to_keep_up(19, LevelTrial{19, 1 << 20, 100'000, 1.0}, 0), 19);  // no link rate
}

TEST(ZstdLevelText, ParsesAutoAndTheLevels) {
  EXPECT_EQ(*parse_zstd_level("auto"), kZstdLevelAuto);
  EXPECT_EQ(*parse_zstd_level("1"), 1);
  EXPECT_EQ(*parse_zstd_level("19"), 19);
  for (const char* bad : {"", "0", "20", "-1", "3x", " 3", "Auto", "99999999999"}) {
    Result<int> level = parse_zstd_level(bad);
    ASSERT_FALSE(level) << bad;
    EXPECT_EQ(level.error().code, ErrorCode::InvalidInput);
    EXPECT_NE(level.error().hint.find("auto"), std::string::npos);
  }
  EXPECT_EQ(zstd_level_name(kZstdLevelAuto), "auto");
  EXPECT_EQ(zstd_level_name(12), "12");
}

using Clock = LinkRateMeter::Clock;
constexpr auto kSecond = std::chrono::seconds(1);

TEST(LinkRateMeter, MeasuresBytesSentOverTheTimeUntilTheAnswer) {
  LinkRateMeter meter;
  Clock::time_point t0{};
  EXPECT_EQ(meter.bytes_per_second(), 0);
  meter.sent(600'000, t0);
  meter.sent(400'000, t0 + kSecond);
  meter.answered(t0 + 2 * kSecond);
  EXPECT_DOUBLE_EQ(meter.bytes_per_second(), 500'000);
}

TEST(LinkRateMeter, KeepsTheBestSample) {
  LinkRateMeter meter;
  Clock::time_point t0{};
  meter.sent(1'000'000, t0);
  meter.answered(t0 + kSecond);
  meter.sent(1'000'000, t0 + 2 * kSecond);
  meter.answered(t0 + 6 * kSecond);  // the peer worked 3 s before answering
  EXPECT_DOUBLE_EQ(meter.bytes_per_second(), 1'000'000);
}

TEST(LinkRateMeter, IgnoresSmallBlobsAndAnswersToNothing) {
  LinkRateMeter meter;
  Clock::time_point t0{};
  meter.answered(t0 + kSecond);
  meter.sent(kMinRateSampleBytes - 1, t0 + kSecond);
  meter.answered(t0 + 2 * kSecond);
  EXPECT_EQ(meter.bytes_per_second(), 0);
  // The small blob's bytes do not carry over into the next sample.
  meter.sent(kMinRateSampleBytes, t0 + 3 * kSecond);
  meter.answered(t0 + 4 * kSecond);
  EXPECT_DOUBLE_EQ(meter.bytes_per_second(), kMinRateSampleBytes);
}

/// Half text that compresses well, half noise that does not.
std::vector<std::byte> sample_data(size_t size) {
  std::mt19937 random(7);
  std::string line = "GET /counter HTTP/1.1 200 OK the count carried on\n";
  std::vector<std::byte> data(size);
  for (size_t i = 0; i < size; ++i)
    data[i] = (i / 4096) % 2 == 0 ? std::byte(line[i % line.size()]) : std::byte(random() & 0xff);
  return data;
}

std::vector<std::byte> decompressed(const std::vector<std::byte>& compressed) {
  VectorSink out;
  struct Source : ByteSource {
    const std::vector<std::byte>& bytes;
    size_t at = 0;
    explicit Source(const std::vector<std::byte>& b) : bytes(b) {}
    Result<size_t> read(std::span<std::byte> buffer) override {
      size_t n = std::min(buffer.size(), bytes.size() - at);
      std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), n, buffer.begin());
      at += n;
      return n;
    }
  } source(compressed);
  ZstdDecompressSource zstd(source);
  std::vector<std::byte> buffer(64 * 1024);
  for (;;) {
    Result<size_t> got = zstd.read(buffer);
    EXPECT_TRUE(got) << got.error().message;
    if (!got || *got == 0) return out.bytes;
    out.bytes.insert(out.bytes.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*got));
  }
}

/// Writes `data` through an AutoLevelZstdSink in uneven pieces and checks it comes back;
/// the trials' levels go to `tried`.
int round_trip(const std::vector<std::byte>& data, double link_bytes_per_second, std::vector<int>* tried,
               bool may_grow_tables = true) {
  VectorSink wire;
  ZstdContext context;
  AutoLevelZstdSink sink(wire, link_bytes_per_second, context, may_grow_tables);
  std::span<const std::byte> rest(data);
  for (size_t piece = 1000; !rest.empty(); piece = piece * 3 % 300'001 + 1) {
    size_t n = std::min(piece, rest.size());
    EXPECT_TRUE(sink.write(rest.first(n)));
    rest = rest.subspan(n);
  }
  EXPECT_TRUE(sink.finish());
  EXPECT_EQ(wire.finished, 1);
  EXPECT_EQ(decompressed(wire.bytes), data);
  if (tried)
    for (const LevelTrial& trial : sink.trials()) tried->push_back(trial.level);
  return sink.level();
}

TEST(AutoLevelZstdSink, UsesTheDefaultLevelWithoutTrialsBeforeTheLinkIsMeasured) {
  std::vector<int> tried;
  EXPECT_EQ(round_trip(sample_data(600'000), 0, &tried), kDefaultZstdLevel);
  EXPECT_TRUE(tried.empty());
}

TEST(AutoLevelZstdSink, ChoosesACandidateLevelAndTheStreamDecodesWhole) {
  std::vector<int> tried;
  int level = round_trip(sample_data(3 * kLevelSampleBytes + 12345), kFiveMbit, &tried);
  EXPECT_FALSE(tried.empty());
  EXPECT_NE(std::find(tried.begin(), tried.end(), level), tried.end());
}

TEST(AutoLevelZstdSink, DecodesStreamsShorterThanTheSampleAndEmptyOnes) {
  std::vector<int> tried;
  round_trip(sample_data(1000), kGigabit, &tried);
  EXPECT_FALSE(tried.empty());
  tried.clear();
  EXPECT_EQ(round_trip({}, kGigabit, &tried), kDefaultZstdLevel);
  EXPECT_TRUE(tried.empty());  // nothing to weigh
  round_trip({}, 0, nullptr);
}

TEST(AutoLevelZstdSink, GrowsNoLargeTablesForASmallBlobOrWhenToldNotTo) {
  // A link so slow that every level would be worth a try.
  std::vector<int> tried;
  round_trip(sample_data(100'000), 1000, &tried);
  round_trip(sample_data(2 * kLevelSampleBytes), 1000, &tried, /*may_grow_tables=*/false);
  for (int level : tried) EXPECT_LE(level, 6);
}

}  // namespace
}  // namespace dockmig::transfer
