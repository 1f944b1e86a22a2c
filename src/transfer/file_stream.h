// Files as ByteSink / ByteSource, by file descriptor, never read whole.
#pragma once

#include <filesystem>

#include "transfer/byte_stream.h"

namespace dockmig::transfer {

class FileSink : public ByteSink {
 public:
  /// Creates or truncates `path` (mode 0600).
  static Result<FileSink> create(const std::filesystem::path& path);
  FileSink(FileSink&& other) noexcept;
  FileSink& operator=(FileSink&& other) noexcept;
  ~FileSink() override;

  Status write(std::span<const std::byte> data) override;
  Status finish() override;  // closes the file

 private:
  FileSink(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

class FileSource : public ByteSource {
 public:
  static Result<FileSource> open(const std::filesystem::path& path);
  FileSource(FileSource&& other) noexcept;
  FileSource& operator=(FileSource&& other) noexcept;
  ~FileSource() override;

  Result<size_t> read(std::span<std::byte> buffer) override;

 private:
  FileSource(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace dockmig::transfer
