// Writing an upper directory, or chosen paths of it, as a pax tar stream into a ByteSink.
// The source container may still run while this reads (presync), so entries can vanish,
// shrink or grow under us; each case is handled where it shows up.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

Error io_error(std::string_view doing, const fs::path& path, int err) {
  return make_error(ErrorCode::Io,
                    std::string(doing) + " " + path.string() + ": " + std::strerror(err));
}

std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

bool is_vanished_errno(int err) { return err == ENOENT || err == ENOTDIR; }

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct LinkResolverFree {
  void operator()(archive_entry_linkresolver* r) const { archive_entry_linkresolver_free(r); }
};

// Compares paths component by component, so "a/b" sorts right after "a" and before
// "a-b": treating '/' as lower than every other byte gives exactly that order.
bool component_less(std::string_view a, std::string_view b) {
  auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [&](char x, char y) { return rank(x) < rank(y); });
}

Result<std::string> normalized_list_path(const std::string& path) {
  fs::path normal = fs::path(path).lexically_normal();
  if (normal.is_absolute() || path.empty() || *normal.begin() == "..") {
    return make_error(ErrorCode::InvalidInput,
                      "path `" + path + "` is not inside the upper directory");
  }
  std::string text = normal.string();
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text == "." ? std::string() : text;
}

// trusted.overlay.* attributes other than these hold file handles and inode bookkeeping
// of the source filesystem (origin, impure, nlink, ...). On the destination they point
// at nothing, or, on hosts cloned from one disk image, at the wrong file.
bool keeps_xattr(std::string_view name) {
  if (!name.starts_with("trusted.overlay.")) return true;
  return name == "trusted.overlay.opaque" || name == "trusted.overlay.redirect";
}

void drop_host_specific_xattrs(archive_entry* entry) {
  struct Xattr {
    std::string name;
    std::string value;
  };
  std::vector<Xattr> kept;
  bool dropped = false;
  for (int left = archive_entry_xattr_reset(entry); left > 0; --left) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_next(entry, &name, &value, &size);
    if (name && keeps_xattr(name)) {
      kept.push_back({name, std::string(static_cast<const char*>(value), size)});
    } else {
      dropped = true;
    }
  }
  if (!dropped) return;
  archive_entry_xattr_clear(entry);
  for (const Xattr& x : kept) {
    archive_entry_xattr_add_entry(entry, x.name.c_str(), x.value.data(), x.value.size());
  }
}

class UpperTarWriter {
 public:
  UpperTarWriter(fs::path root, transfer::ByteSink& out) : root_(std::move(root)), out_(out) {}
  ~UpperTarWriter() {
    // Freeing an unclosed archive flushes it; an abandoned stream must not reach the sink.
    abandoned_ = true;
  }

  Status open();
  Status write_tree(const std::string& relative_dir);
  Status write_path(const std::string& relative, bool recurse);
  Status close();

 private:
  static la_ssize_t on_write(archive*, void* self, const void* data, size_t size);

  Result<bool> stat_and_open(const fs::path& disk_path, struct stat& st, FileDescriptor& file);
  Status write_entry(const std::string& relative, const fs::path& disk_path, const struct stat& st,
                     const FileDescriptor& file);
  Status write_file_data(archive_entry* entry, const FileDescriptor& file,
                         const fs::path& disk_path, uint64_t size);
  Status write_zeros(uint64_t count);
  Status write_file_range(const FileDescriptor& file, const fs::path& disk_path, uint64_t offset,
                          uint64_t length);
  Status write_data(const std::byte* data, size_t size);
  Error archive_error(std::string_view doing, const std::string& relative);

  fs::path root_;
  transfer::ByteSink& out_;
  bool abandoned_ = false;
  std::optional<Error> sink_error_;
  std::vector<std::byte> buffer_ = std::vector<std::byte>(kReadChunk);
  // Declared last so they are freed first, while the members above still exist.
  std::unique_ptr<archive_entry_linkresolver, LinkResolverFree> links_;
  std::unique_ptr<archive, ArchiveReadFree> disk_;
  std::unique_ptr<archive, ArchiveWriteFree> tar_;
};

la_ssize_t UpperTarWriter::on_write(archive* a, void* self, const void* data, size_t size) {
  auto& writer = *static_cast<UpperTarWriter*>(self);
  if (writer.abandoned_) return -1;
  Status written = writer.out_.write({static_cast<const std::byte*>(data), size});
  if (!written) {
    writer.sink_error_ = std::move(written).error();
    archive_set_error(a, EIO, "the tar stream's sink failed");
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

Status UpperTarWriter::open() {
  tar_.reset(archive_write_new());
  disk_.reset(archive_read_disk_new());
  links_.reset(archive_entry_linkresolver_new());
  if (!tar_ || !disk_ || !links_) {
    return make_error(ErrorCode::Internal, "libarchive could not allocate its state");
  }
  // No user/group name lookup on either side: ids travel as numbers, since names on the
  // host mean nothing inside the container.
  archive_read_disk_set_symlink_physical(disk_.get());
  // File names are bytes on Linux. dockmig never calls setlocale, so libarchive runs in
  // the C locale and stores any name that is not ASCII as raw bytes (hdrcharset=BINARY).
  if (archive_write_set_format_pax_restricted(tar_.get()) != ARCHIVE_OK) {
    return make_error(ErrorCode::Internal,
                      "setting up the tar format: " + archive_message(tar_.get()));
  }
  archive_entry_linkresolver_set_strategy(links_.get(), archive_format(tar_.get()));
  if (archive_write_open(tar_.get(), this, nullptr, &UpperTarWriter::on_write, nullptr) !=
      ARCHIVE_OK) {
    return archive_error("opening the tar stream of", "");
  }
  return {};
}

Error UpperTarWriter::archive_error(std::string_view doing, const std::string& relative) {
  std::string what = std::string(doing) + " " + (root_ / relative).string();
  if (sink_error_) return Error(*sink_error_).wrap(what);
  return make_error(ErrorCode::Io, what + ": " + archive_message(tar_.get()));
}

// Lists the names in a directory, sorted; an empty list if it vanished.
Result<std::vector<std::string>> sorted_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
  if (!handle) {
    if (is_vanished_errno(errno)) return names;
    return io_error("listing", dir, errno);
  }
  errno = 0;
  while (dirent* item = ::readdir(handle.get())) {
    std::string_view name = item->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return io_error("listing", dir, errno);
  std::sort(names.begin(), names.end());
  return names;
}

Status UpperTarWriter::write_tree(const std::string& relative_dir) {
  Result<std::vector<std::string>> names = sorted_names(root_ / relative_dir);
  if (!names) return std::move(names).error();
  for (const std::string& name : *names) {
    Status written = write_path(relative_dir.empty() ? name : relative_dir + "/" + name, true);
    if (!written) return written;
  }
  return {};
}

Status UpperTarWriter::write_path(const std::string& relative, bool recurse) {
  fs::path disk_path = root_ / relative;
  struct stat st {};
  FileDescriptor file;
  Result<bool> present = stat_and_open(disk_path, st, file);
  if (!present) return std::move(present).error();
  // A socket's file holds no data (tar cannot carry one): CRIU binds it again at restore.
  if (!*present || S_ISSOCK(st.st_mode)) return {};
  Status written = write_entry(relative, disk_path, st, file);
  if (!written) return written;
  if (recurse && S_ISDIR(st.st_mode)) return write_tree(relative);
  return {};
}

// Returns false when the path is gone. A regular file comes back opened, with the stat
// of the opened file, so the header's size matches the data we are about to read.
Result<bool> UpperTarWriter::stat_and_open(const fs::path& disk_path, struct stat& st,
                                           FileDescriptor& file) {
  // A few attempts, in case the path is replaced by another kind of file between the
  // lstat and the open; if it keeps changing, the final sync picks it up.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::lstat(disk_path.c_str(), &st) != 0) {
      if (is_vanished_errno(errno)) return false;
      return io_error("reading", disk_path, errno);
    }
    if (!S_ISREG(st.st_mode)) return true;
    // O_NONBLOCK: should a fifo take the file's place, open must not wait for a writer.
    int fd = ::open(disk_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (is_vanished_errno(errno)) return false;
      if (errno == ELOOP) continue;  // became a symlink
      return io_error("opening", disk_path, errno);
    }
    file = FileDescriptor(fd);
    if (::fstat(fd, &st) != 0) return io_error("reading", disk_path, errno);
    if (S_ISREG(st.st_mode)) return true;
    file = FileDescriptor();
  }
  return false;
}

Status UpperTarWriter::write_entry(const std::string& relative, const fs::path& disk_path,
                                   const struct stat& st, const FileDescriptor& file) {
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_copy_sourcepath(entry.get(), disk_path.c_str());
  archive_entry_copy_pathname(entry.get(), relative.c_str());
  // Reads xattrs, ACLs, file flags, the symlink target and, for an open file, its holes.
  if (archive_read_disk_entry_from_file(disk_.get(), entry.get(), file.get(), &st) != ARCHIVE_OK) {
    struct stat again {};
    if (::lstat(disk_path.c_str(), &again) != 0 && is_vanished_errno(errno)) return {};
    return make_error(ErrorCode::Io,
                      "reading " + disk_path.string() + ": " + archive_message(disk_.get()));
  }
  drop_host_specific_xattrs(entry.get());

  // The first path of a multiply linked inode is written in full; later ones become
  // hard link entries naming it, with no data.
  archive_entry* to_write = entry.get();
  archive_entry* unused_spare = nullptr;
  archive_entry_linkify(links_.get(), &to_write, &unused_spare);
  bool is_hardlink = archive_entry_hardlink(to_write) != nullptr;
  if (is_hardlink) archive_entry_sparse_clear(to_write);

  if (archive_write_header(tar_.get(), to_write) < ARCHIVE_WARN) {
    return archive_error("writing the tar header of", relative);
  }
  if (S_ISREG(st.st_mode) && !is_hardlink && st.st_size > 0) {
    Status data = write_file_data(to_write, file, disk_path, static_cast<uint64_t>(st.st_size));
    if (!data) return data;
  }
  if (archive_write_finish_entry(tar_.get()) < ARCHIVE_WARN) {
    return archive_error("finishing the tar entry of", relative);
  }
  return {};
}

// Writes exactly `size` bytes: the header promised that many. Holes recorded in the
// entry's sparse map are fed as zeros without reading them (the pax writer drops them).
Status UpperTarWriter::write_file_data(archive_entry* entry, const FileDescriptor& file,
                                       const fs::path& disk_path, uint64_t size) {
  uint64_t position = 0;
  if (archive_entry_sparse_reset(entry) > 0) {
    la_int64_t offset = 0, length = 0;
    while (archive_entry_sparse_next(entry, &offset, &length) == ARCHIVE_OK) {
      uint64_t start = std::clamp<uint64_t>(static_cast<uint64_t>(offset), position, size);
      uint64_t end = std::min<uint64_t>(start + static_cast<uint64_t>(length), size);
      Status hole = write_zeros(start - position);
      if (!hole) return hole;
      Status data = write_file_range(file, disk_path, start, end - start);
      if (!data) return data;
      position = end;
    }
    return write_zeros(size - position);
  }
  return write_file_range(file, disk_path, 0, size);
}

Status UpperTarWriter::write_zeros(uint64_t count) {
  std::fill(buffer_.begin(), buffer_.end(), std::byte{0});
  while (count > 0) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(count, buffer_.size()));
    Status written = write_data(buffer_.data(), piece);
    if (!written) return written;
    count -= piece;
  }
  return {};
}

Status UpperTarWriter::write_file_range(const FileDescriptor& file, const fs::path& disk_path,
                                        uint64_t offset, uint64_t length) {
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer_.size()));
    ssize_t got = ::pread(file.get(), buffer_.data(), want, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return io_error("reading", disk_path, errno);
    }
    if (got == 0) return write_zeros(length);  // the file shrank since its header
    Status written = write_data(buffer_.data(), static_cast<size_t>(got));
    if (!written) return written;
    offset += static_cast<uint64_t>(got);
    length -= static_cast<uint64_t>(got);
  }
  return {};
}

Status UpperTarWriter::write_data(const std::byte* data, size_t size) {
  if (archive_write_data(tar_.get(), data, size) < 0) {
    return archive_error("writing file data into the tar of", "");
  }
  return {};
}

Status UpperTarWriter::close() {
  if (archive_write_close(tar_.get()) != ARCHIVE_OK) {
    return archive_error("closing the tar stream of", "");
  }
  Status finished = out_.finish();
  if (!finished) return std::move(finished).error().wrap("finishing the tar of " + root_.string());
  return {};
}

}  // namespace

Status write_upper_tar(const std::filesystem::path& dir, const std::vector<std::string>* paths,
                       transfer::ByteSink& out) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error("reading", dir, errno);
  if (!S_ISDIR(st.st_mode)) return io_error("reading", dir, ENOTDIR);

  std::vector<std::string> chosen;
  if (paths) {
    for (const std::string& path : *paths) {
      Result<std::string> normal = normalized_list_path(path);
      if (!normal) return std::move(normal).error();
      if (!normal->empty()) chosen.push_back(std::move(*normal));
    }
    std::sort(chosen.begin(), chosen.end(), component_less);
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  }

  UpperTarWriter writer(dir, out);
  Status opened = writer.open();
  if (!opened) return opened;
  if (paths) {
    for (const std::string& path : chosen) {
      Status written = writer.write_path(path, false);
      if (!written) return written;
    }
  } else {
    Status written = writer.write_tree("");
    if (!written) return written;
  }
  return writer.close();
}

Result<RootAttributes> read_root_attributes(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error("reading", dir, errno);
  return RootAttributes{static_cast<uint32_t>(st.st_mode & 07777), st.st_uid, st.st_gid};
}

}  // namespace dockmig::layers
