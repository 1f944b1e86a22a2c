#include "layers/upper_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <clocale>
#include <random>

#include "layers/upper_snapshot.h"
#include "unit/layers/layers_test_support.h"

namespace dockmig::layers {
namespace {

namespace fs = std::filesystem;
using testing::lstat_of;
using testing::read_file;
using testing::TempDir;
using testing::VectorSink;
using testing::VectorSource;
using testing::write_file;

constexpr time_t kFixedTime = 1'600'000'000;

std::string pseudo_random_bytes(size_t size) {
  std::mt19937 generator(42);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(generator());
  return bytes;
}

void set_mtime(const fs::path& path, time_t seconds) {
  timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// Gives every entry a fixed mtime, children before parents so the parents keep theirs.
void fix_all_mtimes(const fs::path& root) {
  std::vector<fs::path> paths;
  for (const auto& item : fs::recursive_directory_iterator(root)) paths.push_back(item.path());
  std::sort(paths.rbegin(), paths.rend());
  for (const fs::path& path : paths) set_mtime(path, kFixedTime);
}

std::string xattr_of(const fs::path& path, const char* name) {
  char value[256];
  ssize_t size = ::lgetxattr(path.c_str(), name, value, sizeof value);
  return size < 0 ? std::string("<none>") : std::string(value, static_cast<size_t>(size));
}

std::vector<std::byte> tar_of(const fs::path& dir,
                              const std::vector<std::string>* paths = nullptr) {
  VectorSink sink;
  Status written = write_upper_tar(dir, paths, sink);
  EXPECT_TRUE(written) << written.error().describe();
  EXPECT_TRUE(sink.finished);
  return sink.bytes;
}

ExtractStats extract(std::vector<std::byte> tar, const fs::path& dir) {
  VectorSource source(std::move(tar));
  Result<ExtractStats> stats = extract_tar(source, dir);
  EXPECT_TRUE(stats) << stats.error().describe();
  return stats ? *stats : ExtractStats{};
}

std::vector<std::string> entry_names(const std::vector<std::byte>& tar) {
  std::vector<std::string> names;
  archive* reader = archive_read_new();
  archive_read_support_format_tar(reader);
  EXPECT_EQ(archive_read_open_memory(reader, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) {
    names.emplace_back(archive_entry_pathname(entry));
  }
  archive_read_free(reader);
  return names;
}

// Every entry's stamp but ctime and inode, which no copy can keep.
void expect_same_tree(const fs::path& expected_dir, const fs::path& actual_dir) {
  Result<UpperSnapshot> expected = scan_upper_dir(expected_dir);
  Result<UpperSnapshot> actual = scan_upper_dir(actual_dir);
  ASSERT_TRUE(expected && actual);
  std::vector<std::string> expected_paths, actual_paths;
  for (const auto& [path, stamp] : expected->entries) expected_paths.push_back(path);
  for (const auto& [path, stamp] : actual->entries) actual_paths.push_back(path);
  ASSERT_EQ(actual_paths, expected_paths);
  for (const auto& [path, want] : expected->entries) {
    const EntryStamp& got = actual->entries.at(path);
    EXPECT_EQ(got.mode, want.mode) << path;
    EXPECT_EQ(got.uid, want.uid) << path;
    EXPECT_EQ(got.gid, want.gid) << path;
    EXPECT_EQ(got.size, want.size) << path;
    EXPECT_EQ(got.mtime_ns, want.mtime_ns) << path;
    if (S_ISREG(want.mode)) {
      EXPECT_EQ(read_file(actual_dir / path), read_file(expected_dir / path)) << path;
    }
  }
}

TEST(UpperTar, RoundTripKeepsFilesLinksModesAndTimes) {
  TempDir source, destination;
  write_file(source / "hello.txt", "hello\n");
  write_file(source / "empty", "");
  write_file(source / "big.bin", pseudo_random_bytes(5 * 1024 * 1024));
  write_file(source / "a/b/c/deep.txt", "deep\n");
  write_file(source / "tool", "#!/bin/sh\n");
  fs::permissions(source / "tool", fs::perms(0751));
  fs::permissions(source / "a/b", fs::perms(0751));
  fs::create_symlink("hello.txt", source / "link");
  write_file(source / "pair1", "linked\n");
  fs::create_hard_link(source / "pair1", source / "a/pair2");
  fix_all_mtimes(source.path());

  ExtractStats stats = extract(tar_of(source.path()), destination.path());

  expect_same_tree(source.path(), destination.path());
  EXPECT_EQ(stats.entries, 11u);
  EXPECT_EQ(lstat_of(destination / "tool").st_mode & 07777, 0751u);
  EXPECT_EQ(lstat_of(destination / "a/b").st_mode & 07777, 0751u);
  EXPECT_EQ(fs::read_symlink(destination / "link"), "hello.txt");
  EXPECT_EQ(lstat_of(destination / "pair1").st_ino, lstat_of(destination / "a/pair2").st_ino);
  EXPECT_EQ(lstat_of(destination / "a/pair2").st_nlink, 2u);
}

// The file a bound unix socket leaves behind, as a service's /tmp/app.sock.
void make_socket_file(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
  ::close(fd);
}

TEST(UpperTar, ASocketIsNoDataAndIsLeftOut) {
  TempDir source, destination;
  write_file(source / "run/data", "kept\n");
  make_socket_file(source / "run/app.sock");
  Result<UpperSnapshot> snapshot = scan_upper_dir(source.path());
  ASSERT_TRUE(snapshot) << snapshot.error().describe();
  EXPECT_FALSE(snapshot->entries.contains("run/app.sock"));
  ExtractStats stats = extract(tar_of(source.path()), destination.path());
  EXPECT_EQ(stats.entries, 2u);  // run, run/data
  EXPECT_EQ(read_file(destination / "run/data"), "kept\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(destination / "run/app.sock")));
}

TEST(UpperTar, RoundTripKeepsUserXattrs) {
  TempDir source, destination;
  write_file(source / "tagged", "x");
  if (::lsetxattr((source / "tagged").c_str(), "user.dockmig.test", "value", 5, 0) != 0) {
    GTEST_SKIP() << "this filesystem takes no user.* xattrs: " << std::strerror(errno);
  }
  extract(tar_of(source.path()), destination.path());
  EXPECT_EQ(xattr_of(destination / "tagged", "user.dockmig.test"), "value");
}

TEST(UpperTar, RoundTripKeepsOwnersWhiteoutsAndOpaqueDirectories) {
  if (!testing::running_as_root()) GTEST_SKIP() << "chown, mknod and trusted.* xattrs need root";
  TempDir source, destination;
  write_file(source / "owned/file", "mine\n");
  ASSERT_EQ(::lchown((source / "owned/file").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::lchown((source / "owned").c_str(), 1234, 5678), 0);
  write_file(source / "suid", "x");
  fs::permissions(source / "suid", fs::perms(04755));
  // Kernels since 5.8 make whiteouts as hard links to one shared whiteout.
  ASSERT_EQ(::mknod((source / "gone").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
  fs::create_hard_link(source / "gone", source / "also-gone");
  write_file(source / "opaque/inside", "new\n");
  ASSERT_EQ(::lsetxattr((source / "opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::lsetxattr((source / "opaque/inside").c_str(), "trusted.overlay.origin", "fh", 2, 0),
            0);
  fix_all_mtimes(source.path());

  extract(tar_of(source.path()), destination.path());

  expect_same_tree(source.path(), destination.path());
  struct stat whiteout = lstat_of(destination / "gone");
  EXPECT_TRUE(S_ISCHR(whiteout.st_mode));
  EXPECT_EQ(whiteout.st_rdev, makedev(0, 0));
  EXPECT_TRUE(S_ISCHR(lstat_of(destination / "also-gone").st_mode));
  EXPECT_EQ(lstat_of(destination / "owned/file").st_uid, 1234u);
  EXPECT_EQ(lstat_of(destination / "owned/file").st_gid, 5678u);
  EXPECT_EQ(lstat_of(destination / "suid").st_mode & 07777, 04755u);
  EXPECT_EQ(xattr_of(destination / "opaque", "trusted.overlay.opaque"), "y");
  // The origin file handle only means something on the source filesystem.
  EXPECT_EQ(xattr_of(destination / "opaque/inside", "trusted.overlay.origin"), "<none>");
}

TEST(UpperTar, SparseFileTravelsAsHoles) {
  TempDir source, destination;
  constexpr off_t kSize = 16 * 1024 * 1024;
  {
    int fd = ::open((source / "sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "head", 4, 0), 4);
    ASSERT_EQ(::pwrite(fd, "tail", 4, kSize - 4), 4);
    ::close(fd);
  }
  std::vector<std::byte> tar = tar_of(source.path());
  EXPECT_LT(tar.size(), 1024u * 1024u);
  extract(std::move(tar), destination.path());
  EXPECT_EQ(read_file(destination / "sparse"), read_file(source / "sparse"));
  EXPECT_LT(lstat_of(destination / "sparse").st_blocks * 512, kSize / 4);
}

TEST(UpperTar, NamesThatAreNotUtf8RoundTrip) {
  TempDir source, destination;
  const std::string name = "caf\xe9";
  write_file(source / name, "latin-1\n");
  extract(tar_of(source.path()), destination.path());
  EXPECT_EQ(read_file(destination / name), "latin-1\n");
}

// Every kind of name a final sync sends by list: a file, a hard link and a symlink whose
// names (and the symlink's target) are not UTF-8, a name with a newline, and a directory.
void write_names_that_are_not_utf8(const fs::path& dir) {
  write_file(dir / "caf\xe9", "latin-1\n");
  ASSERT_EQ(::link((dir / "caf\xe9").c_str(), (dir / "l\xe9ink").c_str()), 0);
  fs::create_symlink("caf\xe9", dir / "s\xffym");
  write_file(dir / "line\nbreak", "newline\n");
  write_file(dir / "d\xe9r/f\xfc", "inside\n");
}

void expect_names_that_are_not_utf8(const fs::path& dir) {
  EXPECT_EQ(read_file(dir / "caf\xe9"), "latin-1\n");
  EXPECT_EQ(lstat_of(dir / "l\xe9ink").st_ino, lstat_of(dir / "caf\xe9").st_ino);
  EXPECT_EQ(fs::read_symlink(dir / "s\xffym").native(), "caf\xe9");
  EXPECT_EQ(read_file(dir / "line\nbreak"), "newline\n");
  EXPECT_EQ(read_file(dir / "d\xe9r/f\xfc"), "inside\n");
}

TEST(UpperTar, NamesThatAreNotUtf8RoundTripInAPathList) {
  TempDir source, destination;
  write_names_that_are_not_utf8(source.path());
  std::vector<std::string> paths = {"caf\xe9", "l\xe9ink", "s\xffym", "line\nbreak", "d\xe9r", "d\xe9r/f\xfc"};
  extract(tar_of(source.path(), &paths), destination.path());
  expect_names_that_are_not_utf8(destination.path());
}

// libarchive converts names between the locale's charset and the pax headers' UTF-8; a
// process whose locale is UTF-8 must still carry bytes that are not UTF-8 as they are.
TEST(UpperTar, NamesThatAreNotUtf8RoundTripInAUtf8Locale) {
  std::string previous = std::setlocale(LC_ALL, nullptr);
  if (std::setlocale(LC_ALL, "C.UTF-8") == nullptr) GTEST_SKIP() << "no C.UTF-8 locale here";
  TempDir source, destination;
  write_names_that_are_not_utf8(source.path());
  extract(tar_of(source.path()), destination.path());
  std::setlocale(LC_ALL, previous.c_str());
  expect_names_that_are_not_utf8(destination.path());
}

TEST(UpperTar, PathListWritesOnlyThosePathsParentsFirst) {
  TempDir source;
  write_file(source / "a/b/c", "c");
  write_file(source / "a-b", "ab");
  write_file(source / "z", "z");
  std::vector<std::string> paths = {"a-b", "a/b/c", "a", "vanished", "a/b/c"};
  EXPECT_EQ(entry_names(tar_of(source.path(), &paths)),
            (std::vector<std::string>{"a/", "a/b/c", "a-b"}));
}

TEST(UpperTar, PathListRefusesPathsOutsideTheDirectory) {
  TempDir source;
  VectorSink sink;
  std::vector<std::string> paths = {"../etc/passwd"};
  Status written = write_upper_tar(source.path(), &paths, sink);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::InvalidInput);
}

TEST(UpperTar, FinalSyncReplacesWhatThePresyncWrote) {
  TempDir source, destination;
  write_file(source / "rewritten", "old");
  write_file(source / "becomes-link", "file");
  fs::create_symlink("rewritten", source / "becomes-dir");
  write_file(source / "kept", "kept");
  extract(tar_of(source.path()), destination.path());

  write_file(source / "rewritten", "new content");
  fs::remove(source / "becomes-link");
  fs::create_symlink("kept", source / "becomes-link");
  fs::remove(source / "becomes-dir");
  write_file(source / "becomes-dir/child", "child");
  fix_all_mtimes(source.path());
  std::vector<std::string> changed = {"rewritten", "becomes-link", "becomes-dir",
                                      "becomes-dir/child", "kept"};
  extract(tar_of(source.path(), &changed), destination.path());

  expect_same_tree(source.path(), destination.path());
}

TEST(UpperTar, ExtractsThroughASymlinkAboveTheTargetAndKeepsIt) {
  TempDir scratch;
  write_file(scratch / "source/file", "data");
  fs::create_directories(scratch / "real");
  fs::create_directory_symlink(scratch / "real", scratch / "via");
  extract(tar_of(scratch / "source"), scratch / "via/target");
  EXPECT_TRUE(fs::is_symlink(scratch / "via"));
  EXPECT_EQ(read_file(scratch / "real/target/file"), "data");
}

TEST(UpperTar, WhiteoutReplacesAFileInTheFinalSync) {
  if (!testing::running_as_root()) GTEST_SKIP() << "mknod needs root";
  TempDir source, destination;
  write_file(source / "deleted-later", "was here");
  extract(tar_of(source.path()), destination.path());
  fs::remove(source / "deleted-later");
  ASSERT_EQ(::mknod((source / "deleted-later").c_str(), S_IFCHR, makedev(0, 0)), 0);
  std::vector<std::string> changed = {"deleted-later"};
  extract(tar_of(source.path(), &changed), destination.path());
  struct stat whiteout = lstat_of(destination / "deleted-later");
  EXPECT_TRUE(S_ISCHR(whiteout.st_mode));
  EXPECT_EQ(whiteout.st_rdev, makedev(0, 0));
}

class BrokenLinkSink : public transfer::ByteSink {
 public:
  Status write(std::span<const std::byte>) override {
    return make_error(ErrorCode::Network, "link down");
  }
  Status finish() override {
    finished = true;
    return {};
  }
  bool finished = false;
};

class BrokenLinkSource : public transfer::ByteSource {
 public:
  Result<size_t> read(std::span<std::byte>) override {
    return make_error(ErrorCode::Network, "peer went away");
  }
};

TEST(UpperTar, SinkFailureComesBackAndTheSinkIsNotFinished) {
  TempDir source;
  write_file(source / "file", std::string(100000, 'x'));
  BrokenLinkSink sink;
  Status written = write_upper_tar(source.path(), nullptr, sink);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::Network);
  EXPECT_NE(written.error().message.find("link down"), std::string::npos);
  EXPECT_FALSE(sink.finished);
}

TEST(UpperTar, SourceFailureComesBack) {
  TempDir destination;
  BrokenLinkSource source;
  Result<ExtractStats> stats = extract_tar(source, destination.path());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::Network);
  EXPECT_NE(stats.error().message.find("peer went away"), std::string::npos);
}

TEST(UpperTar, MissingDirectoryIsAnIoError) {
  TempDir scratch;
  VectorSink sink;
  Status written = write_upper_tar(scratch / "missing", nullptr, sink);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::Io);
}

}  // namespace
}  // namespace dockmig::layers
