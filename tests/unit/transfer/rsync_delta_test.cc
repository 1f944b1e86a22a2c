#include "transfer/rsync_delta.h"

#include "unit/transfer/transfer_test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

namespace dockmig::transfer {
namespace {

namespace fs = std::filesystem;
class RsyncDeltaTest : public testing::ScratchDirTest {};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(RsyncDeltaTest, ADeltaRebuildsTheNewVersionAndIsSmallForASmallChange) {
  std::mt19937 random(7);
  std::string old_text(4 << 20, '\0');
  for (char& c : old_text) c = static_cast<char>(random());
  std::string new_text = old_text;
  new_text.replace(1 << 20, 5, "HELLO");   // an in-place edit
  new_text += "appended at the end";
  std::ofstream(dir_ / "old", std::ios::binary) << old_text;
  std::ofstream(dir_ / "new", std::ios::binary) << new_text;

  ASSERT_TRUE(write_signature(dir_ / "old", dir_ / "sig"));
  ASSERT_TRUE(write_delta(dir_ / "sig", dir_ / "new", dir_ / "delta"));
  ASSERT_TRUE(apply_delta(dir_ / "old", dir_ / "delta", dir_ / "rebuilt"));

  EXPECT_EQ(read_all(dir_ / "rebuilt"), new_text);
  EXPECT_LT(fs::file_size(dir_ / "delta"), 64u * 1024);
  EXPECT_LT(fs::file_size(dir_ / "sig"), old_text.size() / 50);
}

TEST_F(RsyncDeltaTest, NamesTheFileItCannotOpen) {
  Status signed_ = write_signature(dir_ / "missing", dir_ / "sig");
  ASSERT_FALSE(signed_);
  EXPECT_NE(signed_.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::transfer
