#include "memory/return_cache.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

namespace dockmig::memory {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> page_of(uint32_t seed) {
  std::vector<std::byte> page(kPageSize);
  for (size_t i = 0; i < kPageSize; ++i) page[i] = static_cast<std::byte>((seed * 131 + i * 7 + (i >> 8)) & 0xff);
  return page;
}

class ReturnCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("dockmig-return-cache-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "images");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A page image of `count` pages seeded from `first` on (seed 0: a zero page).
  fs::path image(const std::string& name, uint32_t first, uint32_t count) {
    fs::path file = root_ / "images" / name;
    std::ofstream out(file, std::ios::binary);
    for (uint32_t i = 0; i < count; ++i) {
      std::vector<std::byte> page = first + i == 0 ? std::vector<std::byte>(kPageSize) : page_of(first + i);
      out.write(reinterpret_cast<const char*>(page.data()), kPageSize);
    }
    return file;
  }

  // The pages the cache hands on for `key`: hash -> page.
  std::map<std::string, std::vector<std::byte>> replayed(const ReturnCache& cache, const ReturnCacheKey& key,
                                                         ReturnCacheUse* use = nullptr) {
    std::map<std::string, std::vector<std::byte>> pages;
    Result<ReturnCacheUse> used = cache.replay(key, [&](const PageHash& hash, PageView page) -> Status {
      EXPECT_EQ(hash, hash_page(page));
      pages[to_hex(hash)].assign(page.begin(), page.end());
      return {};
    });
    EXPECT_TRUE(used) << (used ? "" : used.error().describe());
    if (used && use) *use = *used;
    return pages;
  }

  fs::path cache_dir() const { return root_ / "cache"; }

  fs::path root_;
};

TEST_F(ReturnCacheTest, KeepsAndReplaysDistinctNonZeroPages) {
  ReturnCache cache(cache_dir());
  ASSERT_TRUE(cache.keep({"web", "sha256:a"}, {image("pages-1.img", 0, 4), image("pages-2.img", 1, 2)}));
  ReturnCacheUse use;
  auto pages = replayed(cache, {"web", "sha256:a"}, &use);
  EXPECT_EQ(pages.size(), 3u);  // pages 1, 2, 3 once each; the zero page not
  EXPECT_EQ(use.pages, 3u);
  EXPECT_EQ(use.pages_damaged, 0u);
  EXPECT_TRUE(replayed(cache, {"web", "sha256:other"}).empty());  // another image: other memory
  EXPECT_TRUE(replayed(cache, {"db", "sha256:a"}).empty());
}

TEST_F(ReturnCacheTest, SurvivesAReopenAndAKeepReplacesTheOlderEntry) {
  ASSERT_TRUE(ReturnCache(cache_dir()).keep({"web", "sha256:a"}, {image("pages-1.img", 1, 3)}));
  ASSERT_TRUE(ReturnCache(cache_dir()).open(ReturnCache::kDefaultBudget));
  ReturnCache reopened(cache_dir());
  EXPECT_EQ(replayed(reopened, {"web", "sha256:a"}).size(), 3u);
  ASSERT_TRUE(reopened.keep({"web", "sha256:a"}, {image("pages-9.img", 100, 2)}));
  auto pages = replayed(reopened, {"web", "sha256:a"});
  EXPECT_EQ(pages.size(), 2u);
  EXPECT_TRUE(pages.contains(to_hex(hash_page(PageView(page_of(100).data(), kPageSize)))));
  Result<uint64_t> used = reopened.bytes_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, 2 * (kPageSize + 16));
}

TEST_F(ReturnCacheTest, EvictsTheLeastRecentlyUsedWholeEntries) {
  uint64_t entry = 4 * (kPageSize + 16);
  ReturnCache cache(cache_dir());
  ASSERT_TRUE(cache.open(2 * entry));
  ASSERT_TRUE(cache.keep({"a", "i"}, {image("pages-a.img", 10, 4)}));
  ASSERT_TRUE(cache.keep({"b", "i"}, {image("pages-b.img", 20, 4)}));
  replayed(cache, {"a", "i"});  // a used after b: b is the least recently used now
  ASSERT_TRUE(cache.keep({"c", "i"}, {image("pages-c.img", 30, 4)}));
  EXPECT_EQ(replayed(cache, {"a", "i"}).size(), 4u);
  EXPECT_TRUE(replayed(cache, {"b", "i"}).empty());
  EXPECT_EQ(replayed(cache, {"c", "i"}).size(), 4u);
  // A smaller budget at the next start evicts down to it; larger than the budget, nothing is kept.
  ASSERT_TRUE(ReturnCache(cache_dir()).open(entry));
  EXPECT_EQ(*cache.bytes_used(), entry);
  ASSERT_TRUE(cache.keep({"d", "i"}, {image("pages-d.img", 40, 5)}));
  EXPECT_TRUE(replayed(cache, {"d", "i"}).empty());
  ASSERT_TRUE(cache.open(0));
  EXPECT_EQ(*cache.bytes_used(), 0u);
  ASSERT_TRUE(cache.keep({"e", "i"}, {image("pages-e.img", 50, 1)}));
  EXPECT_TRUE(replayed(cache, {"e", "i"}).empty());
}

TEST_F(ReturnCacheTest, ADamagedPageIsLeftOutNotTrusted) {
  ReturnCache cache(cache_dir());
  ASSERT_TRUE(cache.keep({"web", "i"}, {image("pages-1.img", 1, 4)}));
  // The kept image is a hard link here: damage the cache's file through its own name.
  for (const auto& entry : fs::recursive_directory_iterator(cache_dir()))
    if (entry.path().filename() == "pages-1.img") {
      std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(kPageSize + 10);
      file.put('\x5a');
    }
  ReturnCacheUse use;
  EXPECT_EQ(replayed(cache, {"web", "i"}, &use).size(), 3u);
  EXPECT_EQ(use.pages_damaged, 1u);
}

TEST_F(ReturnCacheTest, ADamagedIndexDropsTheCache) {
  ReturnCache cache(cache_dir());
  ASSERT_TRUE(cache.keep({"web", "i"}, {image("pages-1.img", 1, 2)}));
  std::ofstream(cache_dir() / "index.json") << "{\"budget\": 12, \"entr";
  EXPECT_TRUE(replayed(cache, {"web", "i"}).empty());
  ASSERT_TRUE(cache.open(ReturnCache::kDefaultBudget));
  size_t left = 0;
  for (const auto& entry : fs::directory_iterator(cache_dir()))
    left += entry.path().filename() != "index.json" && entry.path().filename() != "lock";
  EXPECT_EQ(left, 0u);  // the entry's dir went with the index that named it
  ASSERT_TRUE(cache.keep({"web", "i"}, {image("pages-2.img", 5, 2)}));
  EXPECT_EQ(replayed(cache, {"web", "i"}).size(), 2u);
}

TEST_F(ReturnCacheTest, AnEntryWhoseFilesDoNotMatchItsIndexIsDropped) {
  ReturnCache cache(cache_dir());
  ASSERT_TRUE(cache.keep({"web", "i"}, {image("pages-1.img", 1, 3)}));
  for (const auto& entry : fs::recursive_directory_iterator(cache_dir()))
    if (entry.path().filename() == "hashes") fs::resize_file(entry.path(), 20);
  EXPECT_TRUE(replayed(cache, {"web", "i"}).empty());
  EXPECT_EQ(*cache.bytes_used(), 0u);
}

}  // namespace
}  // namespace dockmig::memory
