// The terminal's progress line, from given numbers (no clocks).
#include "cli/progress_line.h"

#include <gtest/gtest.h>

namespace dockmig::cli {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

TEST(ProgressLine, KnownTotalShowsShareRateAndTimeLeft) {
  EXPECT_EQ(progress_line({"presync", 12 * kMiB, 40 * kMiB, 3.0}),
            "presync    12.0 MiB of 40.0 MiB (30%)  4.0 MiB/s  7 s left");
}

TEST(ProgressLine, LongWaitsInMinutes) {
  EXPECT_EQ(progress_line({"presync", 10 * kMiB, 1010 * kMiB, 10.0}),
            "presync    10.0 MiB of 1010.0 MiB (0%)  1.0 MiB/s  16 min 40 s left");
}

// After the dump the source gives finalsync its total too (SourceMigration::final_sync).
TEST(ProgressLine, FinalsyncWithItsTotalShowsShareAndTimeLeft) {
  EXPECT_EQ(progress_line({"finalsync", 6 * kMiB, 30 * kMiB, 2.0}),
            "finalsync  6.0 MiB of 30.0 MiB (20%)  3.0 MiB/s  8 s left");
}

TEST(ProgressLine, UnknownTotalShowsBytesAndRateOnly) {
  EXPECT_EQ(progress_line({"finalsync", 20 * kMiB, 0, 4.0}), "finalsync  20.0 MiB  5.0 MiB/s");
}

TEST(ProgressLine, NoRateInTheFirstMomentsOrWithoutBytes) {
  EXPECT_EQ(progress_line({"presync", 5 * kMiB, 40 * kMiB, 0.1}), "presync    5.0 MiB of 40.0 MiB (12%)");
  EXPECT_EQ(progress_line({"finalsync", 0, 0, 3.0}), "finalsync  0 B");
}

TEST(ProgressLine, MoreThanExpectedStopsAtAHundredPercentWithoutTimeLeft) {
  EXPECT_EQ(progress_line({"presync", 41 * kMiB, 40 * kMiB, 41.0}), "presync    41.0 MiB of 40.0 MiB (100%)  1.0 MiB/s");
}

}  // namespace
}  // namespace dockmig::cli
