#include "transfer/file_stream.h"

#include "unit/transfer/transfer_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace dockmig::transfer {
namespace {

class FileStream : public testing::ScratchDirTest {};

std::span<const std::byte> bytes_of(const std::string& text) { return std::as_bytes(std::span(text)); }

TEST_F(FileStream, WritesAndReadsBackAPrivateFile) {
  std::filesystem::path path = dir_ / "out";
  Result<FileSink> sink = FileSink::create(path);
  ASSERT_TRUE(sink) << sink.error().message;
  ASSERT_TRUE(sink->write(bytes_of("hello, ")));
  ASSERT_TRUE(sink->write(bytes_of("file")));
  ASSERT_TRUE(sink->finish());
  EXPECT_FALSE(sink->write(bytes_of("late")));

  struct stat info{};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  Result<FileSource> source = FileSource::open(path);
  ASSERT_TRUE(source);
  std::string text;
  std::array<std::byte, 3> buffer{};
  while (true) {
    Result<size_t> got = source->read(buffer);
    ASSERT_TRUE(got);
    if (*got == 0) break;
    text.append(reinterpret_cast<const char*>(buffer.data()), *got);
  }
  EXPECT_EQ(text, "hello, file");
}

TEST_F(FileStream, CreateTruncatesAnExistingFile) {
  std::filesystem::path path = dir_ / "out";
  std::ofstream(path) << "old and longer contents";
  Result<FileSink> sink = FileSink::create(path);
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->write(bytes_of("new")));
  ASSERT_TRUE(sink->finish());
  EXPECT_EQ(std::filesystem::file_size(path), 3u);
}

TEST_F(FileStream, CreateInAMissingDirectoryNamesThePathAndReason) {
  std::filesystem::path path = dir_ / "missing" / "out";
  Result<FileSink> sink = FileSink::create(path);
  ASSERT_FALSE(sink);
  EXPECT_EQ(sink.error().code, ErrorCode::Io);
  EXPECT_NE(sink.error().message.find(path.string()), std::string::npos) << sink.error().message;
  EXPECT_NE(sink.error().message.find("No such file or directory"), std::string::npos) << sink.error().message;
}

TEST_F(FileStream, OpeningAMissingFileNamesThePathAndReason) {
  std::filesystem::path path = dir_ / "absent";
  Result<FileSource> source = FileSource::open(path);
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, ErrorCode::Io);
  EXPECT_NE(source.error().message.find(path.string()), std::string::npos) << source.error().message;
  EXPECT_NE(source.error().message.find("No such file or directory"), std::string::npos) << source.error().message;
}

TEST_F(FileStream, ReadingADirectoryIsAnIoError) {
  Result<FileSource> source = FileSource::open(dir_);
  ASSERT_TRUE(source);
  std::array<std::byte, 16> buffer{};
  Result<size_t> got = source->read(buffer);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Io);
  EXPECT_NE(got.error().message.find(dir_.string()), std::string::npos);
}

}  // namespace
}  // namespace dockmig::transfer
