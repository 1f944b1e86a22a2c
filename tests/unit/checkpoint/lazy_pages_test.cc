#include "checkpoint/lazy_pages.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "dockmig/migration.h"

namespace dockmig::checkpoint {
namespace {

// As `criu lazy-pages -v4` writes them (4.2.1, a memwriter of 256 MiB and a forked child).
constexpr const char* kFilledLog =
    "(00.000912) uffd: 1-12: Found 65607 pages to be handled by UFFD\n"
    "(09.443554) uffd: 1-12: uffd_copy: 0x7ffec66e7000/4096\n"
    "(09.443567) uffd: 1-12: UFFD transferred pages: (65607/65607)\n"
    "(09.443601) uffd: 7-14: UFFD transferred pages: (12/12)\n";

TEST(ParseLazyPagesLog, EveryProcessFilledIsComplete) {
  LazyFill fill = parse_lazy_pages_log(kFilledLog);
  EXPECT_EQ(fill.processes, 2);
  EXPECT_EQ(fill.pages_copied, 65619u);
  EXPECT_EQ(fill.pages_total, 65619u);
  EXPECT_EQ(fill.incomplete, "");
}

TEST(ParseLazyPagesLog, AProcessLeftShortIsNamed) {
  LazyFill fill = parse_lazy_pages_log("(01.0) uffd: 1-12: UFFD transferred pages: (65000/65607)\n"
                                       "(01.1) uffd: 7-14: UFFD transferred pages: (12/12)\n");
  EXPECT_EQ(fill.processes, 2);
  EXPECT_NE(fill.incomplete.find("(65000/65607)"), std::string::npos) << fill.incomplete;
}

// redis frees memory during the fill (jemalloc's madvise(MADV_DONTNEED)): CRIU drops those
// pages uncopied and still counts them in the total.
TEST(ParseLazyPagesLog, PagesTheProcessGaveUpAreNotMissing) {
  LazyFill fill = parse_lazy_pages_log("(02.1) uffd: 1-12: REMOVE: 7f3a10000000(8000)\n"
                                       "(02.2) uffd: 1-12: UNMAP: 7f3a20000000(5000)\n"
                                       "(06.6) uffd: 1-12: UFFD transferred pages: (88335/88348)\n");
  EXPECT_EQ(fill.incomplete, "");
  EXPECT_EQ(fill.pages_discarded, 13u);
}

TEST(ParseLazyPagesLog, MorePagesMissingThanGivenUpIsIncomplete) {
  LazyFill fill = parse_lazy_pages_log("(02.1) uffd: 1-12: REMOVE: 7f3a10000000(2000)\n"
                                       "(02.2) uffd: 7-14: REMOVE: 7f3a20000000(100000)\n"
                                       "(06.6) uffd: 1-12: UFFD transferred pages: (88335/88348)\n");
  EXPECT_NE(fill.incomplete.find("(88335/88348)"), std::string::npos) << fill.incomplete;
}

TEST(ParseLazyPagesLog, AProcessThatEndedNeedsNoMorePages) {
  LazyFill fill = parse_lazy_pages_log("(03.0) uffd: 7-14: EXIT\n"
                                       "(06.6) uffd: 7--14: UFFD transferred pages: (2/12)\n"
                                       "(06.7) uffd: 1-12: UFFD transferred pages: (65607/65607)\n");
  EXPECT_EQ(fill.incomplete, "");
  EXPECT_EQ(fill.processes, 2);
  EXPECT_EQ(fill.pages_discarded, 10u);
}

TEST(ParseLazyPagesLog, AnErrorLineIsIncompleteEvenWithSummaries) {
  LazyFill fill = parse_lazy_pages_log(std::string(kFilledLog) +
                                       "(09.5) Error (criu/uffd.c:1013): uffd: 1-12: Error during UFFD copy\n");
  EXPECT_NE(fill.incomplete.find("Error during UFFD copy"), std::string::npos) << fill.incomplete;
}

TEST(ParseLazyPagesLog, NoProcessServedIsIncomplete) {
  EXPECT_EQ(parse_lazy_pages_log("").incomplete, "no process was served");
}

TEST(LazyRestoreBlocker, OnlyAHostWithoutNonCooperativeUffdIsBlocked) {
  EXPECT_EQ(lazy_restore_blocker(true), "");
  EXPECT_NE(lazy_restore_blocker(false).find("uffd-noncoop"), std::string::npos);
}

TEST(LazyPagesDaemon, ADaemonThatCannotStartSaysWhy) {
  std::filesystem::path work = std::filesystem::temp_directory_path() / ("dockmig-lazy-test-" + std::to_string(getpid()));
  Result<LazyPagesDaemon> daemon = LazyPagesDaemon::start("/nonexistent/criu", work / "images", work / "work");
  ASSERT_FALSE(daemon);
  EXPECT_NE(daemon.error().describe().find("criu lazy-pages"), std::string::npos) << daemon.error().describe();
  std::filesystem::remove_all(work);
}

TEST(RestoreMode, NamesRoundTripAndOthersAreRefused) {
  EXPECT_EQ(parse_restore_mode(restore_mode_name(RestoreMode::Lazy)), RestoreMode::Lazy);
  EXPECT_EQ(parse_restore_mode(restore_mode_name(RestoreMode::Eager)), RestoreMode::Eager);
  EXPECT_EQ(parse_restore_mode(restore_mode_name(RestoreMode::Auto)), RestoreMode::Auto);
  EXPECT_EQ(parse_restore_mode("post-copy"), std::nullopt);
}

}  // namespace
}  // namespace dockmig::checkpoint
