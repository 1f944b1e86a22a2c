// Reads the stats images CRIU writes after a dump or a restore (write_stats in criu/stats.c):
// IMG_SERVICE_MAGIC and STATS_MAGIC as little-endian u32s, then one entry: a u32 length and
// a protobuf StatsEntry (images/stats.proto). The protobuf wire format is decoded by hand
// rather than pulling in libprotobuf for two messages of integers.
#include "checkpoint/criu_stats.h"

#include "checkpoint/protobuf_reader.h"

#include <array>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace dockmig::checkpoint {
namespace {

using namespace protobuf;

constexpr uint32_t kServiceMagic = 0x55105940;  // IMG_SERVICE_MAGIC, criu/include/magic.h
constexpr uint32_t kStatsMagic = 0x57093306;    // STATS_MAGIC
constexpr size_t kMaxImageSize = 64 * 1024;     // CRIU's are ~50 bytes

// Field numbers of images/stats.proto.
enum EntryField { kDumpEntry = 1, kRestoreEntry = 2 };
enum DumpField {
  kFreezingTime = 1, kFrozenTime = 2, kMemdumpTime = 3, kMemwriteTime = 4,
  kPagesScanned = 5, kPagesWritten = 7, kLastDumpField = 14,
};
enum RestoreField { kForkingTime = 3, kRestoreTime = 4, kPagesRestored = 5, kLastRestoreField = 5 };

Status require(const IntegerFields& fields, std::initializer_list<std::pair<int, const char*>> required,
               const char* what) {
  for (auto [number, name] : required)
    if (!fields.has(number)) return malformed(std::string(what) + " lacks " + name);
  return {};
}

double seconds(uint64_t microseconds) { return static_cast<double>(microseconds) / 1e6; }

Result<CriuDumpStats> to_dump_stats(const IntegerFields& fields) {
  Status complete = require(fields, {{kFreezingTime, "freezing_time"}, {kFrozenTime, "frozen_time"},
                                     {kMemdumpTime, "memdump_time"}, {kMemwriteTime, "memwrite_time"},
                                     {kPagesScanned, "pages_scanned"}, {kPagesWritten, "pages_written"}},
                            "the dump stats");
  if (!complete) return std::move(complete.error());
  return CriuDumpStats{seconds(fields.value[kFreezingTime]), seconds(fields.value[kFrozenTime]),
                       seconds(fields.value[kMemdumpTime]), seconds(fields.value[kMemwriteTime]),
                       fields.value[kPagesScanned], fields.value[kPagesWritten]};
}

Result<CriuRestoreStats> to_restore_stats(const IntegerFields& fields) {
  Status complete =
      require(fields, {{kForkingTime, "forking_time"}, {kRestoreTime, "restore_time"}}, "the restore stats");
  if (!complete) return std::move(complete.error());
  return CriuRestoreStats{seconds(fields.value[kForkingTime]), seconds(fields.value[kRestoreTime]),
                          fields.value[kPagesRestored]};
}

Result<CriuStats> decode_entry(std::span<const std::byte> entry) {
  std::optional<IntegerFields> dump, restore;
  Status decoded = for_each_field(entry, [&](const Field& field) -> Status {
    if (field.number != kDumpEntry && field.number != kRestoreEntry) return {};
    if (field.wire_type != kLen)
      return malformed("stats entry field " + std::to_string(field.number) + " is not a message");
    if (field.number == kDumpEntry)
      return decode_integers(field.payload, kLastDumpField, "the dump stats", dump.emplace());
    return decode_integers(field.payload, kLastRestoreField, "the restore stats", restore.emplace());
  });
  if (!decoded) return std::move(decoded.error());
  CriuStats stats;
  if (dump) {
    Result<CriuDumpStats> converted = to_dump_stats(*dump);
    if (!converted) return std::move(converted.error());
    stats.dump = *converted;
  }
  if (restore) {
    Result<CriuRestoreStats> converted = to_restore_stats(*restore);
    if (!converted) return std::move(converted.error());
    stats.restore = *converted;
  }
  return stats;
}

Result<std::vector<std::byte>> read_image(const std::filesystem::path& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec == std::errc::no_such_file_or_directory)
    return make_error(ErrorCode::NotFound, path.string() + " does not exist",
                      "CRIU writes it into its work directory (--work-dir, else the images "
                      "directory) when a dump or restore succeeds");
  if (ec) return make_error(ErrorCode::Io, "cannot read " + path.string() + ": " + ec.message());
  if (size > kMaxImageSize)
    return malformed(path.string() + " is " + std::to_string(size) + " bytes, too large for a CRIU stats image");
  std::vector<std::byte> bytes(size);
  std::ifstream file(path, std::ios::binary);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    return make_error(ErrorCode::Io, "cannot read " + path.string());
  return bytes;
}

Result<CriuStats> read_stats(const std::filesystem::path& path) {
  Result<std::vector<std::byte>> image = read_image(path);
  if (!image) return std::move(image.error());
  Result<CriuStats> stats = parse_criu_stats(*image);
  if (!stats) return std::move(stats.error()).wrap(path.string());
  return stats;
}

}  // namespace

Result<CriuStats> parse_criu_stats(std::span<const std::byte> image) {
  Reader in(image);
  for (uint32_t want : {kServiceMagic, kStatsMagic}) {
    Result<uint32_t> magic = in.u32_le("the image's magic");
    if (!magic) return std::move(magic.error());
    if (*magic != want)
      return malformed("not a CRIU stats image (magic " + hex(*magic) + " where " + hex(want) + " belongs)");
  }
  Result<uint32_t> length = in.u32_le("the entry's length");
  if (!length) return std::move(length.error());
  Result<std::span<const std::byte>> entry = in.take(*length, "the stats entry");
  if (!entry) return std::move(entry.error());
  if (!in.at_end())
    return malformed(std::to_string(in.left()) + " bytes follow the stats entry, which CRIU writes alone");
  return decode_entry(*entry);
}

Result<CriuDumpStats> read_dump_stats(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / kCriuDumpStatsFile;
  Result<CriuStats> stats = read_stats(path);
  if (!stats) return std::move(stats.error());
  if (!stats->dump) return malformed(path.string() + " holds no dump stats");
  return *stats->dump;
}

Result<CriuRestoreStats> read_restore_stats(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / kCriuRestoreStatsFile;
  Result<CriuStats> stats = read_stats(path);
  if (!stats) return std::move(stats.error());
  if (!stats->restore) return malformed(path.string() + " holds no restore stats");
  return *stats->restore;
}

}  // namespace dockmig::checkpoint
