#include "migrate/restore_choice.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

namespace fs = std::filesystem;

TEST(ChooseRestore, LazyFromTheThresholdOnAndSaysWhy) {
  RestoreChoice at = choose_restore(64 << 20, 64 << 20);
  EXPECT_EQ(at.mode, RestoreMode::Lazy);
  EXPECT_NE(at.why.find("reaches the 64.0 MiB"), std::string::npos) << at.why;
  RestoreChoice below = choose_restore((64 << 20) - 4096, 64 << 20);
  EXPECT_EQ(below.mode, RestoreMode::Eager);
  EXPECT_NE(below.why.find("is below the 64.0 MiB"), std::string::npos) << below.why;
  EXPECT_EQ(choose_restore(0, 64 << 20).mode, RestoreMode::Eager) << "a checkpoint without memory images";
}

TEST(PageImageBytes, CountsThePageImagesOnlyAndFollowsTheirLinks) {
  fs::path dir = fs::temp_directory_path() / ("dockmig-restore-choice-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "store");
  auto write = [](const fs::path& path, size_t bytes) { std::ofstream(path) << std::string(bytes, 'x'); };
  write(dir / "pages-1.img", 8192);
  write(dir / "store" / "pages-2", 4096);
  fs::create_symlink("store/pages-2", dir / "pages-2.img");  // as the assembly links them
  write(dir / "pagemap-1.img", 100);
  write(dir / "core-1.img", 100);
  EXPECT_EQ(page_image_bytes(dir), 8192u + 4096u);
  EXPECT_EQ(page_image_bytes(dir / "absent"), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dockmig::migrate
