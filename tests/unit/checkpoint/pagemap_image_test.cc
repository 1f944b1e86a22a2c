#include "checkpoint/pagemap_image.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;

// A real CRIU 4.2 dump of a python3 process holding a 1 MiB bytearray; its pages-1.img
// had 8093696 bytes (1976 pages).
fs::path real_pagemap() { return fs::path(__FILE__).parent_path() / "data" / "pagemap-23693.img"; }
constexpr uint64_t kRealImagePages = 8093696 / 4096;

uint64_t present_pages(const Pagemap& pagemap) {
  uint64_t pages = 0;
  for (const PagemapEntry& entry : pagemap.entries)
    if (entry.present()) pages += entry.pages;
  return pages;
}

TEST(PagemapImageTest, ReadsARealDumpsPagemapWholly) {
  Result<Pagemap> pagemap = read_pagemap(real_pagemap());
  ASSERT_TRUE(pagemap) << pagemap.error().describe();
  EXPECT_EQ(pagemap->pages_image(), "pages-1.img");
  EXPECT_EQ(pagemap->entries.size(), 74u);
  EXPECT_EQ(present_pages(*pagemap), kRealImagePages);
  EXPECT_EQ(pagemap->entries.front().vaddr, 0x5580bb20a000u);
}

TEST(PagemapImageTest, LocatesPagesInThePagesImageInEntryOrder) {
  Result<Pagemap> pagemap = read_pagemap(real_pagemap());
  ASSERT_TRUE(pagemap);
  const std::vector<PagemapEntry>& entries = pagemap->entries;
  EXPECT_EQ(pagemap->page_index(entries[0].vaddr), 0u);
  EXPECT_EQ(pagemap->page_index(entries[1].vaddr), 1u);
  EXPECT_EQ(pagemap->page_index(entries[1].vaddr + 4096), 2u);
  EXPECT_EQ(pagemap->page_index(entries[2].vaddr + 10 * 4096), 3u + 10);
  EXPECT_EQ(pagemap->page_index(entries[0].vaddr + 4096), std::nullopt);  // between entries
  EXPECT_EQ(pagemap->page_index(0x1000), std::nullopt);
}

TEST(PagemapImageTest, MarksThePrivateMemoryLazy) {
  std::string pattern = (fs::temp_directory_path() / "dockmig-pagemap-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  fs::path dir = pattern;
  fs::copy_file(real_pagemap(), dir / real_pagemap().filename());
  Result<LazyPageFlags> flags = lazy_pages_of(dir);
  fs::remove_all(dir);
  ASSERT_TRUE(flags) << flags.error().describe();
  ASSERT_EQ(flags->size(), 1u);
  const std::vector<bool>& pages = flags->at("pages-1.img");
  ASSERT_EQ(pages.size(), kRealImagePages);
  EXPECT_FALSE(pages[0]);  // the interpreter's own data, a private file mapping
  EXPECT_TRUE(pages[3]);   // the heap
  EXPECT_EQ(std::count(pages.begin(), pages.end(), true), 1604);
}

TEST(PagemapImageTest, RefusesWhatIsNoPagemap) {
  std::string pattern = (fs::temp_directory_path() / "dockmig-pagemap-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  fs::path file = fs::path(pattern) / "pagemap-1.img";
  std::ofstream(file) << "not an image";
  Result<Pagemap> read = read_pagemap(file);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("not a CRIU pagemap image"), std::string::npos);
  // A real image cut short in an entry.
  std::string whole(fs::file_size(real_pagemap()), '\0');
  std::ifstream(real_pagemap(), std::ios::binary).read(whole.data(), static_cast<std::streamsize>(whole.size()));
  std::ofstream(file, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() - 3);
  read = read_pagemap(file);
  fs::remove_all(pattern);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("truncated: an entry needs"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::checkpoint
