#include "base/text_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dockmig::base {
namespace {

namespace fs = std::filesystem;

class TextFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dockmig-text-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }

  fs::path dir_;
};

TEST_F(TextFile, ReadsTheWholeTextByteForByte) {
  std::string text = "first\n";
  text += std::string("\0\r\n", 3);
  text += std::string(200 * 1024, 'x');  // longer than one read
  Result<std::string> read = read_text_file(write("big", text));
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_EQ(*read, text);
}

TEST_F(TextFile, ReadsAnEmptyFileAsEmptyText) {
  Result<std::string> read = read_text_file(write("empty", ""));
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_EQ(*read, "");
}

TEST_F(TextFile, ReadsProcFilesWhoseSizeIsZero) {
  Result<std::string> read = read_text_file("/proc/self/status");
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_NE(read->find("PPid:"), std::string::npos);
}

TEST_F(TextFile, AnAbsentFileIsNotFoundNamingThePathAndWhy) {
  Result<std::string> read = read_text_file(dir_ / "absent");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::NotFound);
  EXPECT_NE(read.error().message.find((dir_ / "absent").string()), std::string::npos);
  EXPECT_NE(read.error().message.find("No such file or directory"), std::string::npos);
}

TEST_F(TextFile, ADirectoryIsAnIoErrorNamingThePathAndWhy) {
  Result<std::string> read = read_text_file(dir_);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::Io);
  EXPECT_NE(read.error().message.find(dir_.string()), std::string::npos);
  EXPECT_NE(read.error().message.find("Is a directory"), std::string::npos);
}

TEST_F(TextFile, MayNotExistReadsAbsentAsNothing) {
  Result<std::optional<std::string>> absent = read_text_file_if_exists(dir_ / "absent");
  ASSERT_TRUE(absent) << absent.error().describe();
  EXPECT_FALSE(absent->has_value());

  Result<std::optional<std::string>> present = read_text_file_if_exists(write("present", "text"));
  ASSERT_TRUE(present) << present.error().describe();
  EXPECT_EQ(present->value_or(""), "text");
}

TEST_F(TextFile, MayNotExistStillReportsOtherFailures) {
  Result<std::optional<std::string>> read = read_text_file_if_exists(dir_);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::Io);
}

}  // namespace
}  // namespace dockmig::base
