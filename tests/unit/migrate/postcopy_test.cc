// Both ends of post-copy over a real session pair: the destination reads a restored
// process's pages by address, the ones left at the source come over the link checked
// against their hashes, and the source lends only what its checkpoint holds.
#include "migrate/postcopy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "unit/migrate/session_pair.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::migrate {
namespace {

namespace fs = std::filesystem;
using memory::kPageSize;
using testing::converse;
using testing::Ends;

// A real CRIU dump's pagemap (tests/unit/checkpoint/data): process 23693, whose
// pages-1.img had 1976 pages; its third entry, 256 lazy pages, starts at page 3.
constexpr uint64_t kTask = 23693;
constexpr uint64_t kImagePages = 1976;
fs::path real_pagemap() { return fs::path(__FILE__).parent_path().parent_path() / "checkpoint/data/pagemap-23693.img"; }

std::vector<std::byte> page_content(uint64_t index) {
  std::vector<std::byte> page(kPageSize);
  for (size_t i = 0; i < kPageSize; ++i) page[i] = static_cast<std::byte>((index * 131 + i * 7) & 0xff);
  return page;
}

memory::PageHash hash_of(const std::vector<std::byte>& page) { return memory::hash_page(memory::PageView(page.data(), kPageSize)); }

class PostcopyTest : public transfer::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    for (const fs::path& dir : {source_dir(), images_dir(), assembled_dir(), staging_dir()}) fs::create_directories(dir);
    fs::copy_file(real_pagemap(), images_dir() / real_pagemap().filename());
    std::ofstream source(source_dir() / "pages-1.img", std::ios::binary);
    std::ofstream assembled(assembled_dir() / "pages-1.img", std::ios::binary);
    std::vector<std::byte> zeros(kPageSize);
    for (uint64_t i = 0; i < kImagePages; ++i) {
      std::vector<std::byte> page = page_content(i);
      source.write(reinterpret_cast<const char*>(page.data()), kPageSize);
      bool left = deferred_indices_.contains(i);
      if (left) deferred_["pages-1.img"][i] = hash_of(page);
      assembled.write(reinterpret_cast<const char*>(left ? zeros.data() : page.data()), kPageSize);
    }
    Result<checkpoint::Pagemap> pagemap = checkpoint::read_pagemap(real_pagemap());
    ASSERT_TRUE(pagemap);
    lazy_entry_ = pagemap->entries[2].vaddr;
  }

  // The source lends until the destination's `pages-done`; the destination reads `pages`
  // pages from the lazy entry's page `from` and says it is done.
  Ends fetch(uint64_t from, uint64_t pages, std::vector<std::byte>& out, nlohmann::json& done) {
    out.assign(pages * kPageSize, std::byte{0});
    return converse(
        [&](Session& session) -> Status {
          Result<PageLender> lender = PageLender::open(source_dir());
          if (!lender) return std::move(lender.error());
          Result<nlohmann::json> next = lender->lend_until_other(session, phase_, progress_, 3);
          if (!next) return std::move(next.error());
          done = *next;
          return {};
        },
        [&](Session& session) -> Status {
          RemotePages remote(session, images_dir(), assembled_dir(), staging_dir(), deferred_);
          remote.restore_ended();
          // As the daemon does: what an answer did not give, it asks for again.
          for (uint64_t given = 0; given < pages;) {
            std::span<std::byte> rest = std::span(out).subspan(given * kPageSize);
            Result<uint64_t> read = remote.read(kTask, lazy_entry_ + (from + given) * kPageSize, pages - given, rest);
            if (!read) return std::move(read.error());
            answers_.push_back(*read);
            given += *read;
          }
          return remote.send_message(remote.done_message());
        });
  }

  fs::path source_dir() const { return dir_ / "source"; }
  fs::path images_dir() const { return dir_ / "images"; }
  fs::path assembled_dir() const { return dir_ / "assembled"; }
  fs::path staging_dir() const { return dir_ / "staging"; }

  std::set<uint64_t> deferred_indices_ = {3, 4, 5, 10, 500};
  DeferredPages deferred_;
  uint64_t lazy_entry_ = 0;
  std::vector<uint64_t> answers_;  // pages per answer
  PhaseReport phase_;
  Progress progress_;
};

TEST_F(PostcopyTest, PagesLeftAtTheSourceAreFetchedAndTheRestReadHere) {
  std::vector<std::byte> out;
  nlohmann::json done;
  Ends ends = fetch(0, 8, out, done);  // image pages 3..10
  ASSERT_TRUE(ends.destination) << ends.destination.error().describe();
  ASSERT_TRUE(ends.source) << ends.source.error().describe();
  for (uint64_t i = 0; i < 8; ++i)
    EXPECT_TRUE(std::equal(out.begin() + i * kPageSize, out.begin() + (i + 1) * kPageSize, page_content(3 + i).begin()))
        << "page " << 3 + i;
  // Pages 3-5 in one request, 10 in another; 500 was not wanted and stays at the source.
  // The first answer stops before page 10, so that a fault queued behind it waits for no
  // more than one fetch.
  EXPECT_EQ(answers_, (std::vector<uint64_t>{7, 1}));
  EXPECT_EQ(done["type"], "pages-done");
  EXPECT_EQ(done["pages"], 4);
  EXPECT_EQ(done["fetches"], 2);
  // The fetched pages are in the assembled image now.
  std::ifstream assembled(assembled_dir() / "pages-1.img", std::ios::binary);
  std::vector<std::byte> page(kPageSize);
  assembled.seekg(10 * kPageSize);
  assembled.read(reinterpret_cast<char*>(page.data()), kPageSize);
  EXPECT_EQ(page, page_content(10));
}

TEST_F(PostcopyTest, APageUnlikeItsHashNeverReachesTheContainer) {
  {
    std::fstream source(source_dir() / "pages-1.img", std::ios::binary | std::ios::in | std::ios::out);
    source.seekp(4 * kPageSize + 100);
    source.put('\x5a');
  }
  std::vector<std::byte> out;
  nlohmann::json done;
  Ends ends = fetch(0, 4, out, done);
  ASSERT_FALSE(ends.destination);
  EXPECT_NE(ends.destination.error().message.find("page 4 of pages-1.img came from the source unlike the hash"),
            std::string::npos)
      << ends.destination.error().message;
}

TEST_F(PostcopyTest, AnAddressTheCheckpointDoesNotHoldIsAnError) {
  std::vector<std::byte> out;
  nlohmann::json done;
  Ends ends = fetch(100000, 1, out, done);  // in the gap after the next entry
  ASSERT_FALSE(ends.destination);
  EXPECT_NE(ends.destination.error().message.find("which its checkpoint does not hold"), std::string::npos)
      << ends.destination.error().message;
}

TEST_F(PostcopyTest, TheSourceLendsOnlyWhatItsCheckpointHolds) {
  Ends ends = converse(
      [&](Session& session) -> Status {
        Result<PageLender> lender = PageLender::open(source_dir());
        if (!lender) return std::move(lender.error());
        return lender->lend_until_other(session, phase_, progress_, 3) ? Status() : make_error(ErrorCode::Io, "refused");
      },
      [&](Session& session) -> Status {
        return session.send_message(
            {{"type", "page-get"}, {"image", "pages-1.img"}, {"first", kImagePages - 1}, {"count", 2}});
      });
  ASSERT_FALSE(ends.source);
}

TEST(PostcopyDeferral, PreCopyTurnsHybridOnlyWhenNotConvergingAndTheDestinationCan) {
  EXPECT_TRUE(choose_deferral(MemoryMode::PostCopy, "", "").defer);
  EXPECT_EQ(choose_deferral(MemoryMode::PostCopy, "", "").mode, "post-copy");
  EXPECT_EQ(choose_deferral(MemoryMode::Hybrid, "converged: ...", "").mode, "hybrid");
  EXPECT_EQ(choose_deferral(MemoryMode::PreCopy, "not converging: the container wrote ...", "").mode, "hybrid");
  EXPECT_FALSE(choose_deferral(MemoryMode::PreCopy, "converged: ...", "").defer);
  EXPECT_FALSE(choose_deferral(MemoryMode::StopAndCopy, "", "").defer);
  // A destination that cannot: asked for, it falls back and says why; pre-copy stays pre-copy.
  Deferral refused = choose_deferral(MemoryMode::PostCopy, "", "no uffd");
  EXPECT_FALSE(refused.defer);
  EXPECT_EQ(refused.mode, "stop-and-copy");
  EXPECT_EQ(refused.fallback, "the destination cannot restore lazily: no uffd");
  EXPECT_EQ(choose_deferral(MemoryMode::Hybrid, "", "no uffd").mode, "pre-copy");
  Deferral quiet = choose_deferral(MemoryMode::PreCopy, "not converging: ...", "no uffd");
  EXPECT_EQ(quiet.mode, "pre-copy");
  EXPECT_EQ(quiet.fallback, "");
}

}  // namespace
}  // namespace dockmig::migrate
