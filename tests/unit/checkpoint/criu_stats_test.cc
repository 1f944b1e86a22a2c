#include "checkpoint/criu_stats.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace dockmig::checkpoint {
namespace {

// stats-dump and stats-restore as CRIU 4.2.1 wrote them, dumping and restoring a shell loop
// (`criu dump/restore --display-stats`, which printed the values the tests expect).
const std::filesystem::path kData = std::filesystem::path(__FILE__).parent_path() / "data";

std::string read_fixture(const char* name) {
  std::ifstream file(kData / name, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::span<const std::byte> bytes(const std::string& text) { return std::as_bytes(std::span(text)); }

std::string varint(uint64_t value) {
  std::string out;
  do {
    auto byte = static_cast<uint8_t>(value & 0x7f);
    value >>= 7;
    out += static_cast<char>(value ? byte | 0x80 : byte);
  } while (value);
  return out;
}

std::string key(uint64_t number, int wire_type) { return varint(number << 3 | wire_type); }
std::string integer(uint64_t number, uint64_t value) { return key(number, 0) + varint(value); }
std::string message(uint64_t number, const std::string& body) {
  return key(number, 2) + varint(body.size()) + body;
}

std::string u32_le(uint32_t value) {
  std::string out;
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

std::string image(const std::string& entry, uint32_t magic = 0x57093306) {
  return u32_le(0x55105940) + u32_le(magic) + u32_le(static_cast<uint32_t>(entry.size())) + entry;
}

std::string dump_fields() {
  return integer(1, 1500) + integer(2, 250000) + integer(3, 4000) + integer(4, 900) + integer(5, 103) +
         integer(6, 0) + integer(7, 59) + integer(9, 0);
}

TEST(CriuStats, ReadsTheDumpStatsOfARealDump) {
  Result<CriuDumpStats> stats = read_dump_stats(kData);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_DOUBLE_EQ(stats->freezing_s, 0.003245);
  EXPECT_DOUBLE_EQ(stats->frozen_s, 0.070997);
  EXPECT_DOUBLE_EQ(stats->memdump_s, 0.004088);
  EXPECT_DOUBLE_EQ(stats->memwrite_s, 0.000910);
  EXPECT_EQ(stats->pages_scanned, 103u);
  EXPECT_EQ(stats->pages_written, 59u);
  EXPECT_GE(stats->frozen_s, stats->memdump_s + stats->memwrite_s);
  EXPECT_LE(stats->pages_written, stats->pages_scanned);
}

TEST(CriuStats, ReadsTheRestoreStatsOfARealRestore) {
  Result<CriuRestoreStats> stats = read_restore_stats(kData);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_DOUBLE_EQ(stats->restore_s, 0.031341);
  EXPECT_DOUBLE_EQ(stats->forking_s, 0.000657);
  EXPECT_EQ(stats->pages_restored, 59u);  // the pages the dump wrote
}

TEST(CriuStats, AnImageHoldsOnlyWhatItsCommandWrote) {
  Result<CriuStats> dump = parse_criu_stats(bytes(read_fixture(kCriuDumpStatsFile)));
  ASSERT_TRUE(dump) << dump.error().describe();
  EXPECT_TRUE(dump->dump);
  EXPECT_FALSE(dump->restore);
  Result<CriuStats> restore = parse_criu_stats(bytes(read_fixture(kCriuRestoreStatsFile)));
  ASSERT_TRUE(restore) << restore.error().describe();
  EXPECT_FALSE(restore->dump);
  EXPECT_TRUE(restore->restore);
}

TEST(CriuStats, AMissingImageIsNotFound) {
  Result<CriuDumpStats> stats = read_dump_stats("/nonexistent");
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::NotFound);
  EXPECT_NE(stats.error().message.find("/nonexistent/stats-dump"), std::string::npos);
}

TEST(CriuStats, EveryTruncationIsAnError) {
  for (const char* name : {kCriuDumpStatsFile, kCriuRestoreStatsFile}) {
    std::string whole = read_fixture(name);
    ASSERT_GT(whole.size(), 12u);
    for (size_t size = 0; size < whole.size(); ++size) {
      Result<CriuStats> stats = parse_criu_stats(bytes(whole.substr(0, size)));
      ASSERT_FALSE(stats) << name << " cut to " << size << " bytes";
      EXPECT_EQ(stats.error().code, ErrorCode::InvalidInput);
      EXPECT_NE(stats.error().message.find("truncated"), std::string::npos) << stats.error().message;
    }
  }
}

TEST(CriuStats, RefusesAnotherImage) {
  std::string entry = message(1, dump_fields());
  Result<CriuStats> pstree = parse_criu_stats(bytes(image(entry, 0x50273030)));  // PSTREE_MAGIC
  ASSERT_FALSE(pstree);
  EXPECT_NE(pstree.error().message.find("not a CRIU stats image (magic 0x50273030"), std::string::npos)
      << pstree.error().message;
  std::string common_head = u32_le(0x54564319) + image(entry).substr(4);  // IMG_COMMON_MAGIC
  EXPECT_FALSE(parse_criu_stats(bytes(common_head)));
}

TEST(CriuStats, RefusesGarbage) {
  const std::string garbage[] = {
      std::string(64, '\xff'),
      "Displaying dump stats:\nFreezing time: 3245 us\n",
      image(std::string(12, '\xff')),                // a varint that never ends
      image(key(3, 7) + varint(1)),                  // no wire type 7
      image(key(0, 0) + varint(1)),                  // no field 0
      image(key(5, 4)),                              // the end of a group never started
      image(key(5, 3) + integer(1, 1) + key(6, 4)),  // a group ending as another
      image(message(1, dump_fields())) + "x",        // bytes after the entry
  };
  for (const std::string& bad : garbage) {
    Result<CriuStats> stats = parse_criu_stats(bytes(bad));
    ASSERT_FALSE(stats) << testing::PrintToString(bad);
    EXPECT_EQ(stats.error().code, ErrorCode::InvalidInput);
    EXPECT_FALSE(stats.error().message.empty());
  }
}

TEST(CriuStats, RefusesGroupsNestedBeyondTheLimit) {
  std::string nested;
  for (int depth = 0; depth < 10000; ++depth) nested += key(9, 3);
  Result<CriuStats> stats = parse_criu_stats(bytes(image(nested)));
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("nested too deep"), std::string::npos) << stats.error().message;
}

TEST(CriuStats, NeverReadsOutsideACorruptedImage) {
  std::string whole = read_fixture(kCriuDumpStatsFile);
  for (size_t at = 0; at < whole.size(); ++at) {
    for (int flip : {0x01, 0x80, 0xff}) {
      std::string corrupt = whole;
      corrupt[at] = static_cast<char>(corrupt[at] ^ flip);
      Result<CriuStats> stats = parse_criu_stats(bytes(corrupt));
      if (!stats) {
        EXPECT_EQ(stats.error().code, ErrorCode::InvalidInput);
      }
    }
  }
}

TEST(CriuStats, SkipsUnknownFieldsOfEveryWireType) {
  std::string unknown = integer(20, 7) + key(21, 1) + std::string(8, '\x01') + message(22, "future") +
                        key(23, 3) + integer(1, 5) + key(24, 3) + key(24, 4) + key(23, 4) +
                        key(25, 5) + std::string(4, '\x02');
  std::string dump = unknown + dump_fields() + integer(14, 3) + integer(15, 9) + message(16, "x");
  std::string entry = unknown + message(1, dump) + message(3, "a later entry kind");
  Result<CriuStats> stats = parse_criu_stats(bytes(image(entry)));
  ASSERT_TRUE(stats) << stats.error().describe();
  ASSERT_TRUE(stats->dump);
  EXPECT_FALSE(stats->restore);
  EXPECT_DOUBLE_EQ(stats->dump->freezing_s, 0.0015);
  EXPECT_DOUBLE_EQ(stats->dump->frozen_s, 0.25);
  EXPECT_EQ(stats->dump->pages_scanned, 103u);
  EXPECT_EQ(stats->dump->pages_written, 59u);
}

TEST(CriuStats, ReadsLargeCounters) {
  std::string dump = dump_fields() + integer(7, UINT64_MAX);
  Result<CriuStats> stats = parse_criu_stats(bytes(image(message(1, dump))));
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->dump->pages_written, UINT64_MAX);
}

TEST(CriuStats, RefusesStatsWithoutARequiredField) {
  std::string dump = integer(1, 1500) + integer(3, 4000) + integer(4, 900) + integer(5, 103) + integer(7, 59);
  Result<CriuStats> stats = parse_criu_stats(bytes(image(message(1, dump))));
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("frozen_time"), std::string::npos) << stats.error().message;
  Result<CriuStats> restore = parse_criu_stats(bytes(image(message(2, integer(3, 657)))));
  ASSERT_FALSE(restore);
  EXPECT_NE(restore.error().message.find("restore_time"), std::string::npos) << restore.error().message;
}

TEST(CriuStats, RefusesAKnownFieldOfTheWrongType) {
  EXPECT_FALSE(parse_criu_stats(bytes(image(integer(1, 5)))));
  EXPECT_FALSE(parse_criu_stats(bytes(image(message(1, dump_fields() + message(2, "x"))))));
}

}  // namespace
}  // namespace dockmig::checkpoint
