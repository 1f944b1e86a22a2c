// In-memory byte streams and a self-removing temporary directory for the layers tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "transfer/byte_stream.h"

namespace dockmig::layers::testing {

class VectorSink : public transfer::ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    EXPECT_FALSE(finished) << "write after finish";
    bytes.insert(bytes.end(), data.begin(), data.end());
    return {};
  }
  Status finish() override {
    finished = true;
    return {};
  }

  std::vector<std::byte> bytes;
  bool finished = false;
};

/// Hands out its bytes in small, uneven pieces, as a network would.
class VectorSource : public transfer::ByteSource {
 public:
  explicit VectorSource(std::vector<std::byte> data) : bytes_(std::move(data)) {}
  Result<size_t> read(std::span<std::byte> buffer) override {
    size_t piece = std::min({buffer.size(), bytes_.size() - position_, next_piece_});
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(position_), piece, buffer.begin());
    position_ += piece;
    next_piece_ = next_piece_ == 7000 ? 70000 : 7000;
    return piece;
  }

 private:
  std::vector<std::byte> bytes_;
  size_t position_ = 0;
  size_t next_piece_ = 7000;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dockmig-layers-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& relative) const { return path_ / relative; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::string content(static_cast<size_t>(std::max<std::streamoff>(in.tellg(), 0)), '\0');
  in.seekg(0);
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  return content;
}

inline struct stat lstat_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

inline bool running_as_root() { return ::geteuid() == 0; }

}  // namespace dockmig::layers::testing
