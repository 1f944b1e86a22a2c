// Extracting a tar stream into an upper directory, and removing paths from one. Both take
// paths from the other host, so every path is checked before anything touches the disk.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "layers/upper_tar.h"

namespace dockmig::layers {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadChunk = 256 * 1024;

constexpr std::string_view kUntrustedHint =
    "the stream did not come from a dockmig source; nothing was extracted for this entry";

std::string backticked(std::string_view text) { return "`" + std::string(text) + "`"; }

std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

// Returns `path` with empty and "." components dropped ("" names the directory itself),
// or the refusal: absolute paths and ".." components could reach outside the directory.
Result<std::string> checked_relative_path(std::string_view path, std::string_view what) {
  std::string subject = std::string(what) + " " + backticked(path);
  if (path.empty()) return make_error(ErrorCode::InvalidInput, std::string(what) + " has no path");
  if (path.front() == '/') {
    return make_error(ErrorCode::InvalidInput, subject + " is an absolute path",
                      std::string(kUntrustedHint));
  }
  std::string normalized;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string_view component = path.substr(start, slash - start);
    start = slash + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      return make_error(ErrorCode::InvalidInput, subject + " climbs out of the target directory",
                        std::string(kUntrustedHint));
    }
    if (!normalized.empty()) normalized += '/';
    normalized += component;
  }
  return normalized;
}

// Refuses a path whose parent directories include a symlink: following it could land
// outside `root`. Returns false when a parent is missing or not a directory, so nothing
// can be at the path yet.
Result<bool> parents_are_real_directories(const fs::path& root, const std::string& relative,
                                          std::string_view what, std::string_view original) {
  for (size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1)) {
    std::string parent = relative.substr(0, slash);
    struct stat st {};
    if (::lstat((root / parent).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return false;
      return make_error(ErrorCode::Io,
                        "reading " + (root / parent).string() + ": " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) {
      return make_error(ErrorCode::InvalidInput,
                        std::string(what) + " " + backticked(original) +
                            " goes through the symlink " + backticked(parent),
                        std::string(kUntrustedHint));
    }
    if (!S_ISDIR(st.st_mode)) return false;
  }
  return true;
}

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

class TarExtractor {
 public:
  TarExtractor(transfer::ByteSource& in, fs::path root) : in_(in), root_(std::move(root)) {}

  Status open();
  Result<ExtractStats> run();

 private:
  static la_ssize_t on_read(archive*, void* self, const void** data);

  Status extract_entry(archive_entry* entry, ExtractStats& stats);
  Status rebase(archive_entry* entry);
  Error stream_error(std::string_view doing);
  Error disk_error(std::string_view doing, const std::string& name);

  transfer::ByteSource& in_;
  fs::path root_;
  std::optional<Error> source_error_;
  std::vector<std::byte> buffer_ = std::vector<std::byte>(kReadChunk);
  std::unique_ptr<archive, ArchiveWriteFree> disk_;
  std::unique_ptr<archive, ArchiveReadFree> tar_;
};

la_ssize_t TarExtractor::on_read(archive* a, void* self, const void** data) {
  auto& extractor = *static_cast<TarExtractor*>(self);
  Result<size_t> got = extractor.in_.read(extractor.buffer_);
  if (!got) {
    extractor.source_error_ = std::move(got).error();
    archive_set_error(a, EIO, "the tar stream's source failed");
    return -1;
  }
  *data = extractor.buffer_.data();
  return static_cast<la_ssize_t>(*got);
}

Status TarExtractor::open() {
  tar_.reset(archive_read_new());
  disk_.reset(archive_write_disk_new());
  if (!tar_ || !disk_) return make_error(ErrorCode::Internal, "libarchive could not allocate");
  archive_read_support_format_tar(tar_.get());  // ustar, pax and gnu tar
  // Paths are checked and rebased under the (canonical) root here, so the rebased paths
  // are absolute by design: no ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS. No name lookup:
  // owners are restored by number.
  archive_write_disk_set_options(
      disk_.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                       ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |
                       ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                       ARCHIVE_EXTRACT_UNLINK);
  if (archive_read_open(tar_.get(), this, nullptr, &TarExtractor::on_read, nullptr) != ARCHIVE_OK) {
    return stream_error("opening the tar stream");
  }
  return {};
}

Error TarExtractor::stream_error(std::string_view doing) {
  std::string what = std::string(doing) + " for " + root_.string();
  if (source_error_) return Error(*source_error_).wrap(what);
  return make_error(ErrorCode::InvalidInput, what + ": " + archive_message(tar_.get()));
}

Error TarExtractor::disk_error(std::string_view doing, const std::string& name) {
  return make_error(ErrorCode::Io, std::string(doing) + " tar entry " + backticked(name) +
                                       " into " + root_.string() + ": " +
                                       archive_message(disk_.get()));
}

Result<ExtractStats> TarExtractor::run() {
  ExtractStats stats;
  for (;;) {
    archive_entry* entry = nullptr;
    int status = archive_read_next_header(tar_.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN) return stream_error("reading the tar stream");
    Status extracted = extract_entry(entry, stats);
    if (!extracted) return std::move(extracted).error();
  }
  // Closing applies what libarchive deferred: directory modes and times.
  if (archive_write_close(disk_.get()) != ARCHIVE_OK) {
    return make_error(ErrorCode::Io, "setting directory modes and times under " + root_.string() +
                                         ": " + archive_message(disk_.get()));
  }
  return stats;
}

Status TarExtractor::rebase(archive_entry* entry) {
  const char* pathname = archive_entry_pathname(entry);
  if (!pathname) return make_error(ErrorCode::InvalidInput, "a tar entry has no path");
  Result<std::string> relative = checked_relative_path(pathname, "tar entry");
  if (!relative) return std::move(relative).error();
  Result<bool> safe = parents_are_real_directories(root_, *relative, "tar entry", pathname);
  if (!safe) return std::move(safe).error();

  std::optional<std::string> link_target;
  if (const char* hardlink = archive_entry_hardlink(entry)) {
    Result<std::string> target = checked_relative_path(hardlink, "hard link target");
    if (!target) return std::move(target).error();
    Result<bool> target_safe =
        parents_are_real_directories(root_, *target, "hard link target", hardlink);
    if (!target_safe) return std::move(target_safe).error();
    link_target = (root_ / *target).string();
  }
  std::string full = relative->empty() ? root_.string() : (root_ / *relative).string();
  archive_entry_copy_pathname(entry, full.c_str());
  if (link_target) archive_entry_copy_hardlink(entry, link_target->c_str());
  return {};
}

Status TarExtractor::extract_entry(archive_entry* entry, ExtractStats& stats) {
  std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
  Status rebased = rebase(entry);
  if (!rebased) return rebased;

  // Warnings count as failures: each one is lost metadata (an owner, an xattr such as
  // overlay's opaque mark), and the destination container would see a different tree.
  if (archive_write_header(disk_.get(), entry) != ARCHIVE_OK) {
    return disk_error("creating", name);
  }
  for (;;) {
    const void* data = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int status = archive_read_data_block(tar_.get(), &data, &size, &offset);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK)
      return stream_error("reading the data of tar entry " + backticked(name));
    if (archive_write_data_block(disk_.get(), data, size, offset) != ARCHIVE_OK) {
      return disk_error("writing", name);
    }
    stats.bytes += size;
  }
  if (archive_write_finish_entry(disk_.get()) != ARCHIVE_OK) {
    return disk_error("finishing", name);
  }
  ++stats.entries;
  return {};
}

}  // namespace

Result<ExtractStats> extract_tar(transfer::ByteSource& in, const std::filesystem::path& dir) {
  std::error_code failure;
  fs::create_directories(dir, failure);
  // A canonical root has no symlinks for libarchive's symlink check to trip over (with
  // ARCHIVE_EXTRACT_UNLINK it would delete one, even above `dir`).
  fs::path root = failure ? fs::path() : fs::canonical(dir, failure);
  if (failure) {
    return make_error(ErrorCode::Io, "preparing " + dir.string() + ": " + failure.message());
  }
  TarExtractor extractor(in, root);
  Status opened = extractor.open();
  if (!opened) return std::move(opened).error();
  return extractor.run();
}

Status apply_root_attributes(const std::filesystem::path& dir, const RootAttributes& attributes) {
  // Owner first: chown clears the setuid and setgid bits that chmod then sets.
  if (::chown(dir.c_str(), attributes.uid, attributes.gid) != 0 || ::chmod(dir.c_str(), attributes.mode & 07777) != 0) {
    return make_error(ErrorCode::Io, "setting the mode and owner of " + dir.string() + ": " + std::strerror(errno));
  }
  return {};
}

Status remove_paths(const std::filesystem::path& dir, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    Result<std::string> relative = checked_relative_path(path, "path to remove");
    if (!relative) return std::move(relative).error();
    if (relative->empty()) {
      return make_error(ErrorCode::InvalidInput,
                        "path to remove " + backticked(path) + " names the directory itself");
    }
    Result<bool> reachable = parents_are_real_directories(dir, *relative, "path to remove", path);
    if (!reachable) return std::move(reachable).error();
    if (!*reachable) continue;  // a parent is gone, so is the path
    std::error_code failure;
    fs::remove_all(dir / *relative, failure);
    if (failure) {
      return make_error(ErrorCode::Io,
                        "removing " + (dir / *relative).string() + ": " + failure.message());
    }
  }
  return {};
}

}  // namespace dockmig::layers
