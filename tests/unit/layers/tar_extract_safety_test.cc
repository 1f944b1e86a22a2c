// Streams from the other host are untrusted: nothing they name may land outside the target.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layers/upper_tar.h"
#include "unit/layers/layers_test_support.h"

namespace dockmig::layers {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::VectorSource;
using testing::write_file;

struct CraftedEntry {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content_or_link;  // file content, symlink target or hard link target
};

// Builds a tar the way a hostile sender could, bypassing write_upper_tar's checks.
std::vector<std::byte> crafted_tar(const std::vector<CraftedEntry>& entries) {
  std::vector<std::byte> buffer(1024 * 1024);
  size_t used = 0;
  archive* writer = archive_write_new();
  archive_write_set_format_pax_restricted(writer);
  EXPECT_EQ(archive_write_open_memory(writer, buffer.data(), buffer.size(), &used), ARCHIVE_OK);
  for (const CraftedEntry& crafted : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, crafted.path.c_str());
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_uid(entry, ::geteuid());  // so the tests also run without root
    archive_entry_set_gid(entry, ::getegid());
    if (crafted.type == AE_IFLNK) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, crafted.content_or_link.c_str());
    } else if (crafted.type == 0) {  // hard link
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_hardlink(entry, crafted.content_or_link.c_str());
    } else {
      archive_entry_set_filetype(entry, crafted.type);
      archive_entry_set_size(entry, static_cast<la_int64_t>(crafted.content_or_link.size()));
    }
    EXPECT_EQ(archive_write_header(writer, entry), ARCHIVE_OK) << archive_error_string(writer);
    if (crafted.type == AE_IFREG) {
      archive_write_data(writer, crafted.content_or_link.data(), crafted.content_or_link.size());
    }
    archive_entry_free(entry);
  }
  EXPECT_EQ(archive_write_close(writer), ARCHIVE_OK);
  archive_write_free(writer);
  buffer.resize(used);
  return buffer;
}

Error refusal(const std::vector<CraftedEntry>& entries, const fs::path& target) {
  VectorSource source(crafted_tar(entries));
  Result<ExtractStats> stats = extract_tar(source, target);
  EXPECT_FALSE(stats);
  return stats ? Error{} : stats.error();
}

bool exists_without_following(const fs::path& path) { return fs::exists(fs::symlink_status(path)); }

TEST(TarExtractSafety, RefusesEntriesThatClimbOut) {
  TempDir scratch;
  Error error = refusal({{"fine", AE_IFREG, "ok"}, {"../x", AE_IFREG, "evil"}}, scratch / "target");
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_EQ(error.message, "tar entry `../x` climbs out of the target directory");
  EXPECT_FALSE(exists_without_following(scratch / "x"));
  EXPECT_TRUE(exists_without_following(scratch / "target/fine"));
}

TEST(TarExtractSafety, RefusesDotDotInTheMiddle) {
  TempDir scratch;
  Error error = refusal({{"a/../../x", AE_IFREG, "evil"}}, scratch / "target");
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_NE(error.message.find("`a/../../x`"), std::string::npos);
  EXPECT_FALSE(exists_without_following(scratch / "x"));
  EXPECT_FALSE(exists_without_following(scratch / "target/a"));
}

TEST(TarExtractSafety, RefusesAbsolutePaths) {
  TempDir scratch;
  fs::path outside = scratch / "outside-abs";
  Error error = refusal({{outside.string(), AE_IFREG, "evil"}}, scratch / "target");
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_NE(error.message.find("`" + outside.string() + "`"), std::string::npos);
  EXPECT_NE(error.message.find("absolute"), std::string::npos);
  EXPECT_FALSE(exists_without_following(outside));
}

TEST(TarExtractSafety, RefusesHardLinksToOutside) {
  TempDir scratch;
  write_file(scratch / "secret", "secret");
  Error error = refusal({{"link", 0, "../secret"}}, scratch / "target");
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_NE(error.message.find("`../secret`"), std::string::npos);
  EXPECT_FALSE(exists_without_following(scratch / "target/link"));
}

TEST(TarExtractSafety, RefusesPathsThroughSymlinks) {
  TempDir scratch;
  fs::create_directories(scratch / "outside");
  Error error =
      refusal({{"s", AE_IFLNK, (scratch / "outside").string()}, {"s/evil", AE_IFREG, "evil"}},
              scratch / "target");
  EXPECT_EQ(error.code, ErrorCode::InvalidInput);
  EXPECT_EQ(error.message, "tar entry `s/evil` goes through the symlink `s`");
  EXPECT_FALSE(exists_without_following(scratch / "outside/evil"));
}

TEST(TarExtractSafety, ReportsATruncatedStream) {
  TempDir scratch;
  std::vector<std::byte> tar = crafted_tar({{"file", AE_IFREG, std::string(10000, 'x')}});
  tar.resize(2048);
  VectorSource source(std::move(tar));
  Result<ExtractStats> stats = extract_tar(source, scratch / "target");
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::InvalidInput);
}

TEST(UpperTarRemovePaths, RemovesRecursivelyAndIgnoresMissingPaths) {
  TempDir dir;
  write_file(dir / "a/b/c", "c");
  write_file(dir / "keep", "k");
  Status removed = remove_paths(dir.path(), {"a", "missing", "missing-dir/child", "keep/child"});
  ASSERT_TRUE(removed) << removed.error().describe();
  EXPECT_FALSE(exists_without_following(dir / "a"));
  EXPECT_TRUE(exists_without_following(dir / "keep"));
}

TEST(UpperTarRemovePaths, RemovesASymlinkNotItsTarget) {
  TempDir dir;
  write_file(dir / "target/file", "f");
  fs::create_directories(dir / "upper");
  fs::create_directory_symlink(dir / "target", dir / "upper/link");
  ASSERT_TRUE(remove_paths(dir / "upper", {"link"}));
  EXPECT_FALSE(exists_without_following(dir / "upper/link"));
  EXPECT_TRUE(exists_without_following(dir / "target/file"));
}

TEST(UpperTarRemovePaths, RefusesPathsOutsideTheDirectory) {
  TempDir dir;
  write_file(dir / "victim", "v");
  fs::create_directories(dir / "upper/a");
  fs::create_directory_symlink(dir.path(), dir / "upper/escape");
  for (std::string path : {"..", "../victim", "a/../../victim", "/etc", ".", "escape/victim"}) {
    Status removed = remove_paths(dir / "upper", {path});
    ASSERT_FALSE(removed) << path;
    EXPECT_EQ(removed.error().code, ErrorCode::InvalidInput) << path;
    EXPECT_NE(removed.error().message.find("`" + path + "`"), std::string::npos) << path;
  }
  EXPECT_TRUE(exists_without_following(dir / "victim"));
  EXPECT_TRUE(exists_without_following(dir / "upper/a"));
}

}  // namespace
}  // namespace dockmig::layers
