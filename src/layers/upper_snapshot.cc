// Snapshots of an upper directory's metadata, and what changed between two of them.
#include "layers/upper_snapshot.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

namespace dockmig::layers {
namespace {

namespace fs = std::filesystem;

Error io_error(const fs::path& path, int err) {
  return make_error(ErrorCode::Io, "scanning " + path.string() + ": " + std::strerror(err));
}

// The container may still be running: entries that vanish mid-scan are simply absent.
bool is_vanished_errno(int err) { return err == ENOENT || err == ENOTDIR; }

int64_t nanoseconds(const timespec& time) {
  return static_cast<int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

EntryStamp stamp_of(const struct stat& st) {
  EntryStamp stamp;
  stamp.mode = st.st_mode;
  stamp.uid = st.st_uid;
  stamp.gid = st.st_gid;
  stamp.size = static_cast<uint64_t>(st.st_size);
  stamp.mtime_ns = nanoseconds(st.st_mtim);
  stamp.ctime_ns = nanoseconds(st.st_ctim);
  stamp.inode = st.st_ino;
  return stamp;
}

Result<std::vector<std::string>> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
  if (!handle) {
    if (is_vanished_errno(errno)) return names;
    return io_error(dir, errno);
  }
  errno = 0;
  while (dirent* item = ::readdir(handle.get())) {
    std::string_view name = item->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return io_error(dir, errno);
  return names;
}

Status scan_children(const fs::path& root, const std::string& relative_dir,
                     UpperSnapshot& snapshot) {
  Result<std::vector<std::string>> names = names_in(root / relative_dir);
  if (!names) return std::move(names).error();
  for (const std::string& name : *names) {
    std::string relative = relative_dir.empty() ? name : relative_dir + "/" + name;
    struct stat st {};
    if (::lstat((root / relative).c_str(), &st) != 0) {
      if (is_vanished_errno(errno)) continue;
      return io_error(root / relative, errno);
    }
    if (S_ISSOCK(st.st_mode)) continue;  // no data to move: CRIU binds it again at restore
    snapshot.entries.emplace(relative, stamp_of(st));
    if (S_ISDIR(st.st_mode)) {
      Status scanned = scan_children(root, relative, snapshot);
      if (!scanned) return scanned;
    }
  }
  return {};
}

}  // namespace

uint64_t UpperSnapshot::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [path, stamp] : entries) {
    if (S_ISREG(stamp.mode)) total += stamp.size;
  }
  return total;
}

uint64_t UpperSnapshot::file_count() const {
  return static_cast<uint64_t>(std::count_if(
      entries.begin(), entries.end(), [](const auto& item) { return !S_ISDIR(item.second.mode); }));
}

Result<UpperSnapshot> scan_upper_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error(dir, errno);
  if (!S_ISDIR(st.st_mode)) return io_error(dir, ENOTDIR);
  UpperSnapshot snapshot;
  Status scanned = scan_children(dir, "", snapshot);
  if (!scanned) return std::move(scanned).error();
  return snapshot;
}

namespace {

template <typename Same>
UpperChanges diff_by(const UpperSnapshot& before, const UpperSnapshot& after, Same same) {
  UpperChanges changes;
  for (const auto& [path, stamp] : after.entries) {
    auto previous = before.entries.find(path);
    if (previous == before.entries.end()) {
      changes.added.push_back(path);
    } else if (!same(previous->second, stamp)) {
      changes.modified.push_back(path);
    }
  }
  for (const auto& [path, stamp] : before.entries) {
    if (!after.entries.contains(path)) changes.deleted.push_back(path);
  }
  return changes;  // sorted: both loops walk std::map order
}

}  // namespace

UpperChanges diff_snapshots(const UpperSnapshot& before, const UpperSnapshot& after) {
  return diff_by(before, after, [](const EntryStamp& a, const EntryStamp& b) { return a == b; });
}

UpperChanges quick_check_diff(const UpperSnapshot& before, const UpperSnapshot& after) {
  return diff_by(before, after, [](const EntryStamp& a, const EntryStamp& b) {
    constexpr int64_t kSecond = 1'000'000'000;
    return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.size == b.size &&
           a.mtime_ns / kSecond == b.mtime_ns / kSecond;
  });
}

}  // namespace dockmig::layers
