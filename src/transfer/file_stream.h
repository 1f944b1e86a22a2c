// Files as ByteSink / ByteSource, by file descriptor, never read whole.
#pragma once

#include <filesystem>

#include "base/unique_fd.h"
#include "transfer/byte_stream.h"

namespace dockmig::transfer {

class FileSink : public ByteSink {
 public:
  /// Creates or truncates `path` (mode 0600).
  static Result<FileSink> create(const std::filesystem::path& path);

  Status write(std::span<const std::byte> data) override;
  Status finish() override;  // closes the file

 private:
  FileSink(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  base::UniqueFd fd_;
  std::filesystem::path path_;
};

class FileSource : public ByteSource {
 public:
  static Result<FileSource> open(const std::filesystem::path& path);

  Result<size_t> read(std::span<std::byte> buffer) override;

 private:
  FileSource(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  base::UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace dockmig::transfer
