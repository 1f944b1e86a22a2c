#include "transfer/zstd_stream.h"

#include <gtest/gtest.h>
#include <zstd.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "transfer/file_stream.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::transfer {
namespace {

using testing::VectorSink;
class ZstdStream : public testing::ScratchDirTest {};

class VectorSource : public ByteSource {
 public:
  explicit VectorSource(std::vector<std::byte> data) : bytes_(std::move(data)) {}
  Result<size_t> read(std::span<std::byte> buffer) override {
    size_t n = std::min(buffer.size(), bytes_.size() - position_);
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(position_), n, buffer.begin());
    position_ += n;
    return n;
  }

 private:
  std::vector<std::byte> bytes_;
  size_t position_ = 0;
};

/// About 6 MB: compressible text, incompressible noise and runs of zeros, interleaved.
std::vector<std::byte> mixed_data() {
  std::mt19937 random(42);
  std::vector<std::byte> data;
  for (int block = 0; block < 24; ++block) {
    size_t size = 100'000 + random() % 200'000;
    for (size_t i = 0; i < size; ++i) {
      switch (block % 3) {
        case 0: data.push_back(std::byte("the quick brown fox jumps over the lazy dog\n"[i % 44])); break;
        case 1: data.push_back(std::byte(random() & 0xff)); break;
        default: data.push_back(std::byte{0}); break;
      }
    }
  }
  return data;
}

Status compress_to_file(const std::filesystem::path& path, std::span<const std::byte> data) {
  Result<FileSink> file = FileSink::create(path);
  if (!file) return std::move(file.error());
  ZstdCompressSink zstd(*file, 3);
  // Uneven write sizes exercise the buffering at every boundary.
  std::mt19937 random(7);
  while (!data.empty()) {
    size_t n = std::min<size_t>(data.size(), 1 + random() % 300'000);
    if (Status written = zstd.write(data.first(n)); !written) return written;
    data = data.subspan(n);
  }
  return zstd.finish();
}

Result<std::vector<std::byte>> decompress(ByteSource& compressed) {
  ZstdDecompressSource zstd(compressed);
  std::vector<std::byte> out;
  std::vector<std::byte> buffer(70'001);
  std::mt19937 random(9);
  while (true) {
    size_t want = 1 + random() % buffer.size();
    Result<size_t> got = zstd.read(std::span(buffer).first(want));
    if (!got) return std::move(got.error());
    if (*got == 0) return out;
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*got));
  }
}

TEST_F(ZstdStream, RoundTripsSeveralMegabytesOfMixedDataThroughFiles) {
  std::vector<std::byte> original = mixed_data();
  ASSERT_GT(original.size(), 4'000'000u);
  std::filesystem::path path = dir_ / "blob.zst";
  Status compressed = compress_to_file(path, original);
  ASSERT_TRUE(compressed) << compressed.error().message;
  EXPECT_LT(std::filesystem::file_size(path), original.size());

  Result<FileSource> file = FileSource::open(path);
  ASSERT_TRUE(file) << file.error().message;
  Result<std::vector<std::byte>> restored = decompress(*file);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_TRUE(*restored == original);
}

TEST_F(ZstdStream, HighLevelsKeepTheirTablesSmallAndAContextServesALowLevelAfter) {
  std::vector<std::byte> original = mixed_data();
  ZSTD_CCtx* context = ZSTD_createCCtx();
  for (int level : {19, 12, 1}) {
    VectorSink compressed;
    ZstdCompressSink zstd(compressed, level, context);
    ASSERT_TRUE(zstd.write(original));
    ASSERT_TRUE(zstd.finish());
    // zstd's own tables for level 19 take 89 MiB; an agent's memory must not grow so.
    EXPECT_LT(ZSTD_sizeof_CCtx(context), 24u << 20) << "level " << level;
    VectorSource source(compressed.bytes);
    Result<std::vector<std::byte>> restored = decompress(source);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored == original) << "level " << level;
  }
  ZSTD_freeCCtx(context);
}

TEST_F(ZstdStream, TruncatedStreamIsAnError) {
  std::vector<std::byte> original = mixed_data();
  std::filesystem::path path = dir_ / "blob.zst";
  ASSERT_TRUE(compress_to_file(path, original));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);

  Result<FileSource> file = FileSource::open(path);
  ASSERT_TRUE(file);
  Result<std::vector<std::byte>> restored = decompress(*file);
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().message.find("truncated zstd stream"), std::string::npos) << restored.error().message;
}

TEST_F(ZstdStream, StreamCutJustBeforeItsLastByteIsAnError) {
  VectorSink compressed;
  std::string text = "a small payload";
  ZstdCompressSink zstd(compressed, 3);
  ASSERT_TRUE(zstd.write(std::as_bytes(std::span(text))));
  ASSERT_TRUE(zstd.finish());
  compressed.bytes.pop_back();

  VectorSource source(compressed.bytes);
  Result<std::vector<std::byte>> restored = decompress(source);
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().message.find("truncated zstd stream"), std::string::npos);
}

TEST_F(ZstdStream, GarbageIsAnError) {
  std::vector<std::byte> garbage(1000, std::byte{0x5a});
  VectorSource source(garbage);
  Result<std::vector<std::byte>> restored = decompress(source);
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().message.find("corrupt zstd stream"), std::string::npos);
}

TEST_F(ZstdStream, FinishFinishesTheNextStageOnce) {
  VectorSink compressed;
  ZstdCompressSink zstd(compressed, 1);
  ASSERT_TRUE(zstd.finish());
  EXPECT_EQ(compressed.finished, 1);
  EXPECT_FALSE(zstd.write(std::as_bytes(std::span("late"))));
  EXPECT_FALSE(zstd.finish());
  EXPECT_EQ(compressed.finished, 1);

  VectorSource source(compressed.bytes);
  Result<std::vector<std::byte>> restored = decompress(source);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_TRUE(restored->empty());
}

TEST_F(ZstdStream, ConcatenatedFramesDecompressAsOneStream) {
  VectorSink compressed;
  std::string first = "first frame;";
  std::string second = "second frame";
  for (const std::string* text : {&first, &second}) {
    ZstdCompressSink zstd(compressed, 3);
    ASSERT_TRUE(zstd.write(std::as_bytes(std::span(*text))));
    ASSERT_TRUE(zstd.finish());
  }
  VectorSource source(compressed.bytes);
  Result<std::vector<std::byte>> restored = decompress(source);
  ASSERT_TRUE(restored);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(restored->data()), restored->size()), first + second);
}

TEST(ZstdCountingSink, CountsWhatPassesThrough) {
  VectorSink next;
  CountingSink counter(next);
  std::vector<std::byte> data(12345, std::byte{1});
  ASSERT_TRUE(counter.write(data));
  ASSERT_TRUE(counter.write(std::span(data).first(55)));
  ASSERT_TRUE(counter.finish());
  EXPECT_EQ(counter.count(), 12400u);
  EXPECT_EQ(next.bytes.size(), 12400u);
  EXPECT_EQ(next.finished, 1);
}

}  // namespace
}  // namespace dockmig::transfer
