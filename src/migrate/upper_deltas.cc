#include "migrate/upper_deltas.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transfer/rsync_delta.h"

namespace dockmig::migrate {
namespace {

namespace fs = std::filesystem;

Error io_error(const std::string& what, const fs::path& path) {
  return make_error(ErrorCode::Io, what + " `" + path.string() + "`: " + std::strerror(errno));
}

int64_t nanoseconds(const timespec& time) { return static_cast<int64_t>(time.tv_sec) * 1000000000 + time.tv_nsec; }

bool is_large_single_file(const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_nlink == 1 && static_cast<uint64_t>(st.st_size) >= kDeltaMinBytes;
}

Status make_parent(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + path.parent_path().string() + "`: " + ec.message());
  return {};
}

// The file and each directory on its way must be what they seem: no symlink may lead
// the patch outside the layer.
Status check_no_symlinks(const fs::path& upper, const std::string& path) {
  fs::path walked = upper;
  for (const fs::path& part : fs::path(path)) {
    walked /= part;
    struct stat st {};
    if (::lstat(walked.c_str(), &st) != 0) return io_error("cannot find", walked);
    if (S_ISLNK(st.st_mode))
      return make_error(ErrorCode::InvalidInput, "delta for `" + path + "` goes through a symlink");
  }
  return {};
}

}  // namespace

Result<size_t> sign_large_files(const fs::path& upper, const fs::path& signatures, SignedStamps& signed_) {
  std::error_code ec;
  fs::create_directories(signatures, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + signatures.string() + "`: " + ec.message());
  SignedStamps now;
  size_t signed_count = 0;
  for (auto it = fs::recursive_directory_iterator(upper, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !is_large_single_file(st)) continue;
    std::string path = fs::relative(it->path(), upper).string();
    SignedStamp stamp{st.st_ino, static_cast<uint64_t>(st.st_size), nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)};
    now.emplace(path, stamp);
    if (auto before = signed_.find(path); before != signed_.end() && before->second == stamp) continue;
    fs::path signature = signatures / path;
    Status made = make_parent(signature);
    if (made) made = transfer::write_signature(it->path(), signature);
    if (!made) return std::move(made.error());
    ++signed_count;
  }
  if (ec) return make_error(ErrorCode::Io, "cannot walk `" + upper.string() + "`: " + ec.message());
  signed_ = std::move(now);
  return signed_count;
}

Result<std::vector<DeltaEntry>> make_deltas(const fs::path& upper, const fs::path& signatures,
                                            std::vector<std::string>& modified, const fs::path& deltas) {
  std::vector<DeltaEntry> entries;
  std::vector<std::string> whole;
  for (const std::string& path : modified) {
    struct stat st {};
    fs::path signature = signatures / path;
    if (::lstat((upper / path).c_str(), &st) != 0 || !is_large_single_file(st) || !fs::exists(signature)) {
      whole.push_back(path);
      continue;
    }
    fs::path delta = deltas / path;
    Status made = make_parent(delta);
    if (made) made = transfer::write_delta(signature, upper / path, delta);
    if (!made) return std::move(made.error());
    entries.push_back({path, st.st_mode & 07777, st.st_uid, st.st_gid, nanoseconds(st.st_mtim)});
  }
  modified = std::move(whole);
  return entries;
}

Status apply_deltas(const fs::path& upper, const fs::path& deltas, const std::vector<DeltaEntry>& entries) {
  for (const DeltaEntry& entry : entries) {
    Status safe = check_no_symlinks(upper, entry.path);
    if (!safe) return safe;
    fs::path target = upper / entry.path;
    fs::path rebuilt = target;
    rebuilt += ".dockmig-patch";
    Status patched = transfer::apply_delta(target, deltas / entry.path, rebuilt);
    if (!patched) return patched;
    struct timespec times[2] = {{0, UTIME_OMIT},
                                {static_cast<time_t>(entry.mtime_ns / 1000000000), entry.mtime_ns % 1000000000}};
    if (::lchown(rebuilt.c_str(), entry.uid, entry.gid) != 0) return io_error("cannot chown", rebuilt);
    if (::chmod(rebuilt.c_str(), entry.mode) != 0) return io_error("cannot chmod", rebuilt);
    if (::utimensat(AT_FDCWD, rebuilt.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return io_error("cannot set the mtime of", rebuilt);
    if (::rename(rebuilt.c_str(), target.c_str()) != 0) return io_error("cannot replace", target);
  }
  return {};
}

}  // namespace dockmig::migrate
