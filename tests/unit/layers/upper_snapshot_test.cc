#include "layers/upper_snapshot.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "unit/layers/layers_test_support.h"

namespace dockmig::layers {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_file;

using Paths = std::vector<std::string>;

TEST(UpperSnapshot, RecordsEveryEntryWithoutFollowingSymlinks) {
  TempDir dir;
  write_file(dir / "a/file", "12345");
  write_file(dir / "other", "xy");
  fs::create_directory_symlink(dir / "a", dir / "dirlink");

  Result<UpperSnapshot> snapshot = scan_upper_dir(dir.path());
  ASSERT_TRUE(snapshot) << snapshot.error().describe();
  Paths paths;
  for (const auto& [path, stamp] : snapshot->entries) paths.push_back(path);
  EXPECT_EQ(paths, (Paths{"a", "a/file", "dirlink", "other"}));
  EXPECT_TRUE(S_ISLNK(snapshot->entries.at("dirlink").mode));
  EXPECT_EQ(snapshot->entries.at("a/file").size, 5u);
  EXPECT_EQ(snapshot->total_bytes(), 7u);
  EXPECT_EQ(snapshot->file_count(), 3u);  // a/file, dirlink, other
}

TEST(UpperSnapshot, MissingDirectoryIsAnError) {
  TempDir dir;
  Result<UpperSnapshot> snapshot = scan_upper_dir(dir / "missing");
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error().code, ErrorCode::Io);
  EXPECT_NE(snapshot.error().message.find("missing"), std::string::npos);
}

TEST(UpperSnapshot, DiffFindsAddedModifiedAndDeletedEntries) {
  TempDir dir;
  write_file(dir / "same", "same");
  write_file(dir / "sub/rewritten", "aaaa");
  write_file(dir / "deleted", "gone soon");
  Result<UpperSnapshot> before = scan_upper_dir(dir.path());
  ASSERT_TRUE(before);

  // Same size, same inode: only the times tell. The mtime is set explicitly so the test
  // does not depend on the clock ticking between the two writes.
  write_file(dir / "sub/rewritten", "bbbb");
  timespec times[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir / "sub/rewritten").c_str(), times, 0), 0);
  fs::remove(dir / "deleted");
  write_file(dir / "sub/added", "new");
  Result<UpperSnapshot> after = scan_upper_dir(dir.path());
  ASSERT_TRUE(after);

  UpperChanges changes = diff_snapshots(*before, *after);
  EXPECT_EQ(changes.added, (Paths{"sub/added"}));
  EXPECT_EQ(changes.deleted, (Paths{"deleted"}));
  // "sub" itself may or may not show up (its mtime changed within the clock's resolution).
  std::erase(changes.modified, "sub");
  EXPECT_EQ(changes.modified, (Paths{"sub/rewritten"}));
  EXPECT_EQ(before->entries.at("sub/rewritten").inode, after->entries.at("sub/rewritten").inode);
}

TEST(UpperSnapshot, DiffOfIdenticalSnapshotsIsEmpty) {
  TempDir dir;
  write_file(dir / "a/b", "b");
  Result<UpperSnapshot> snapshot = scan_upper_dir(dir.path());
  ASSERT_TRUE(snapshot);
  UpperChanges changes = diff_snapshots(*snapshot, *snapshot);
  EXPECT_TRUE(changes.added.empty() && changes.modified.empty() && changes.deleted.empty());
}

TEST(UpperSnapshot, DiffListsAreSorted) {
  UpperSnapshot before, after;
  for (const char* path : {"z", "m", "a"}) before.entries[path] = EntryStamp{};
  for (const char* path : {"y", "b", "n"}) after.entries[path] = EntryStamp{};
  UpperChanges changes = diff_snapshots(before, after);
  EXPECT_EQ(changes.added, (Paths{"b", "n", "y"}));
  EXPECT_EQ(changes.deleted, (Paths{"a", "m", "z"}));
}

// A listing from another host: its inodes and ctimes are its own, and a tree that crossed as
// a tar has whole-second mtimes there.
TEST(UpperSnapshot, QuickCheckIgnoresInodesCtimesAndSubsecondsButNotContentStamps) {
  EntryStamp here{0100644, 0, 0, 10, 1'700'000'000'123'456'789, 1'700'000'100'000'000'000, 42};
  UpperSnapshot before, after;
  before.entries["same"] = {0100644, 0, 0, 10, 1'700'000'000'000'000'000, 0, 0};
  after.entries["same"] = here;
  for (auto [path, stamp] : {std::pair{"size", EntryStamp{0100644, 0, 0, 11, here.mtime_ns, 0, 0}},
                             {"mtime", EntryStamp{0100644, 0, 0, 10, here.mtime_ns + 1'000'000'000, 0, 0}},
                             {"mode", EntryStamp{0100600, 0, 0, 10, here.mtime_ns, 0, 0}},
                             {"owner", EntryStamp{0100644, 1, 0, 10, here.mtime_ns, 0, 0}},
                             {"type", EntryStamp{0040644, 0, 0, 10, here.mtime_ns, 0, 0}}}) {
    before.entries[path] = stamp;
    after.entries[path] = here;
  }
  before.entries["gone"] = here;
  after.entries["new"] = here;
  UpperChanges changes = quick_check_diff(before, after);
  EXPECT_EQ(changes.modified, (Paths{"mode", "mtime", "owner", "size", "type"}));
  EXPECT_EQ(changes.added, (Paths{"new"}));
  EXPECT_EQ(changes.deleted, (Paths{"gone"}));
}

}  // namespace
}  // namespace dockmig::layers
