// The destination side of memory pre-copy (memory_sync.h): the page store, and the exact
// assembly of CRIU's page images from it at the freeze.
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "base/unique_fd.h"
#include "checkpoint/docker_checkpoint.h"
#include "memory/page_records.h"
#include "migrate/memory_sync.h"
#include "migrate/peer_message.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using memory::kPageSize;

// Writes one page image from its records, and its digest on the way; a stored page that
// fails its hash is left as a hole and listed, to be filled once the source has sent it
// again (the image's digest is then read back from the file). Pages come from the store 64
// KiB at a time: at the freeze this copy is downtime, and page by page it cost a syscall
// pair per page (0.55 s for 300 MiB, 0.22 s in runs of 16); larger runs fall out of the
// cache between the hash and the write and were slower again.
class ImageAssembler : public memory::PageRecordVisitor {
 public:
  ImageAssembler(memory::PageStore& store, int fd, DamagedPages& damaged,
                 std::map<uint64_t, memory::PageHash>* deferred)
      : store_(store), fd_(fd), damaged_(damaged), deferred_(deferred), buffer_(kBatchPages * kPageSize) {}

  Status zero(uint32_t count) override {
    static const std::byte kZeros[kPageSize] = {};
    for (uint32_t i = 0; i < count; ++i) digest_.update(kZeros);
    offset_ += static_cast<off_t>(count) * kPageSize;  // the file is sized at the end: a hole reads as zeros
    return {};
  }
  Status known(uint32_t first, uint32_t count) override {
    while (count > 0) {
      uint32_t batch = std::min(count, kBatchPages);
      Result<uint32_t> got = store_.read_run(first, std::span(buffer_.data(), batch * kPageSize));
      if (!got) return std::move(got.error());
      if (Status written = write_intact(first, batch, *got); !written) return written;
      first += batch;
      count -= batch;
    }
    return {};
  }
  Status literal(memory::PageView page) override {
    Status stored = store_.append(page);
    if (stored) stored = write(page, offset_);
    digest_.update(page);
    offset_ += kPageSize;
    return stored;
  }
  // Left at the source (post-copy): a hole until it is fetched, a zero page to the digest.
  Status deferred(const memory::PageHash& hash) override {
    if (!deferred_) return make_error(ErrorCode::InvalidInput, "protocol: a deferred page in memory that was not deferred");
    deferred_->emplace(static_cast<uint64_t>(offset_) / kPageSize, hash);
    return zero(1);
  }
  /// The image's digest, unless a damaged page left a hole in it.
  std::optional<memory::PageHash> digest() const {
    return whole_ ? std::optional(digest_.digest()) : std::nullopt;
  }

 private:
  static constexpr uint32_t kBatchPages = 16;

  memory::PageView page_at(uint32_t i) const { return memory::PageView(buffer_.data() + i * kPageSize, kPageSize); }

  // Writes a batch's intact pages, each unbroken run of them in one call.
  Status write_intact(uint32_t first, uint32_t batch, uint32_t read) {
    uint32_t run = 0;
    for (uint32_t i = 0; i <= batch; ++i) {
      if (i < batch && i < read && store_.holds(first + i, page_at(i))) {
        digest_.update(page_at(i));
        continue;
      }
      std::span<const std::byte> pages(buffer_.data() + run * kPageSize, (i - run) * kPageSize);
      if (Status written = write(pages, offset_ + run * kPageSize); !written) return written;
      if (i < batch) {
        damaged_[first + i].emplace_back(fd_, offset_ + static_cast<off_t>(i) * kPageSize);
        whole_ = false;
      }
      run = i + 1;
    }
    offset_ += static_cast<off_t>(batch) * kPageSize;
    return {};
  }
  Status write(std::span<const std::byte> pages, off_t at) {
    if (pages.empty()) return {};
    if (::pwrite(fd_, pages.data(), pages.size(), at) != static_cast<ssize_t>(pages.size()))
      return make_error(ErrorCode::Io, std::string("writing a page image: ") + std::strerror(errno));
    return {};
  }

  memory::PageStore& store_;
  int fd_;
  DamagedPages& damaged_;
  std::map<uint64_t, memory::PageHash>* deferred_;  // null unless the source defers pages
  std::vector<std::byte> buffer_;
  memory::StreamDigest digest_;
  bool whole_ = true;
  off_t offset_ = 0;
};

Result<memory::PageHash> file_digest(int fd) {
  memory::StreamDigest digest;
  std::vector<std::byte> buffer(1 << 20);
  for (off_t at = 0;;) {
    ssize_t got = ::pread(fd, buffer.data(), buffer.size(), at);
    if (got < 0) return make_error(ErrorCode::Io, std::string("reading back a page image: ") + std::strerror(errno));
    if (got == 0) return digest.digest();
    digest.update(std::span(buffer.data(), static_cast<size_t>(got)));
    at += got;
  }
}

fs::path image_room_path(const fs::path& staging) { return staging / "memory" / ".room"; }

bool valid_image_name(const std::string& name) {
  return is_page_image(name) && name.find('/') == std::string::npos && name.size() < 64;
}

// More pages than this in one image (16 TiB) is no container's memory, and would overflow
// the image's size as an off_t.
constexpr uint64_t kMaxImagePages = uint64_t{1} << 32;

/// The `memory` message's images: each page image's file name and its size in pages; an
/// error too if an earlier read of `fields` failed.
Result<std::vector<std::pair<std::string, uint64_t>>> image_list(PeerMessage& fields) {
  const json& listed = fields.list_or_empty("images");
  if (Status read = fields.status(); !read) return std::move(read.error());
  std::vector<std::pair<std::string, uint64_t>> images;
  for (size_t i = 0; i < listed.size(); ++i) {
    PeerMessage image(listed[i], "images[" + std::to_string(i) + "] of the `memory` message");
    std::string name = image.string("name");
    uint64_t pages = image.count("pages", kMaxImagePages);
    if (Status read = image.status(); !read) return std::move(read.error());
    if (!valid_image_name(name))
      return make_error(ErrorCode::InvalidInput, "protocol: `" + name + "` in the `memory` message is not a page image");
    images.emplace_back(name, pages);
  }
  return images;
}

}  // namespace

Result<MemoryReceiver> MemoryReceiver::create(const fs::path& staging) {
  Result<memory::PageStore> store = memory::PageStore::create(staging / "pages.store");
  if (!store) return std::move(store.error());
  return MemoryReceiver(std::move(*store), staging);
}

Result<std::vector<memory::PageHash>> MemoryReceiver::seed_from(const memory::ReturnCache& cache,
                                                                 const memory::ReturnCacheKey& key) {
  std::vector<memory::PageHash> held;
  Result<memory::ReturnCacheUse> used =
      cache.replay(key, [&](const memory::PageHash& hash, memory::PageView page) -> Status {
        Status stored = store_.append(page);
        if (stored) held.push_back(hash);
        return stored;
      });
  if (used) return held;
  // The store must hold exactly the pages named to the source: none, then.
  Result<memory::PageStore> emptied = memory::PageStore::create(store_.path());
  if (!emptied) return std::move(emptied.error());
  store_ = std::move(*emptied);
  return std::move(used.error());
}

Result<bool> MemoryReceiver::receive_rounds(Session& session, const std::function<void()>& source_frozen) {
  for (;;) {
    Result<json> message = session.receive_message();
    if (!message) return std::move(message.error());
    PeerMessage fields(*message);
    std::string type = fields.type();
    bool memory_follows = fields.boolean_or("memory", false);
    bool frozen = fields.boolean_or("frozen", false);
    bool coded = fields.boolean_or("coded", false);
    if (Status read = fields.status(); !read) return std::move(read.error());
    if (type == "precopy-end") return memory_follows;
    if (type != "pages")
      return make_error(ErrorCode::InvalidInput, "protocol: expected `pages` or `precopy-end`, got `" + type + "`");
    if (frozen && source_frozen) source_frozen();
    Status stored = store_round(session, coded);
    if (!stored) return std::move(stored.error());
  }
}

Status MemoryReceiver::store_round(Session& session, bool coded) {
  fs::path blob = staging_ / "pages.zst";
  Status received = session.receive_blob_to_file("pages", blob);
  if (!received) return received;
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource pages(*file);
  uint64_t count = 0;
  std::array<std::byte, kPageSize> page;
  for (;;) {
    Result<bool> got = memory::read_page(pages, coded, page);
    if (!got) return std::move(got.error()).wrap("reading pre-copy pages");
    if (!*got) break;
    Status appended = store_.append(page);
    if (!appended) return appended;
    ++count;
  }
  Status acknowledged = session.send_message({{"type", "pages-stored"}, {"pages", count}});
  if (!acknowledged) return acknowledged;
  return reserve_image_room();
}

Status MemoryReceiver::reserve_image_room() {
  fs::path room = image_room_path(staging_);
  if (!image_room_) {
    std::error_code ec;
    fs::create_directories(room.parent_path(), ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create `" + room.parent_path().string() + "`: " + ec.message());
    image_room_ = base::UniqueFd(::open(room.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!image_room_) return make_error(ErrorCode::Io, "cannot create `" + room.string() + "`: " + std::strerror(errno));
  }
  // Only an optimization: a file system without fallocate assembles into new pages.
  if (::fallocate(image_room_.get(), 0, 0, static_cast<off_t>(store_.size()) * kPageSize) != 0 && errno != EOPNOTSUPP)
    return make_error(ErrorCode::Io, "reserving room for the memory image in `" + room.string() +
                                         "`: " + std::strerror(errno) + " (is the staging file system full?)");
  return {};
}

Result<base::UniqueFd> MemoryReceiver::open_image(const fs::path& path, uint64_t pages, uint64_t largest) {
  if (image_room_ && pages == largest) {
    if (::rename(image_room_path(staging_).c_str(), path.c_str()) != 0)
      return make_error(ErrorCode::Io, "cannot rename the room for `" + path.string() + "`: " + std::strerror(errno));
    return std::move(image_room_);
  }
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return make_error(ErrorCode::Io, "cannot create `" + path.string() + "`: " + std::strerror(errno));
  return fd;
}

// Docker's checkpoint dir links each page image's name before its pages arrive, so that a
// restore can start meanwhile (checkpoint/restore_gate.h); the name exists only once the
// image matched the source's digest: until then it is assembled as NAME.partial.
Status MemoryReceiver::receive_frozen(Session& session, const fs::path& images_dir, const ImagesNamed& images_named) {
  Result<json> header = session.expect("memory");
  if (!header) return std::move(header.error());
  PeerMessage fields(*header);
  bool coded = fields.boolean_or("coded", false);
  deferring_ = fields.boolean_or("deferred", false);
  Result<std::vector<std::pair<std::string, uint64_t>>> images = image_list(fields);
  if (!images) return std::move(images.error());
  fs::path assembled = staging_ / "memory";
  std::error_code ec;
  fs::create_directories(assembled, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + assembled.string() + "`: " + ec.message());
  uint64_t image_bytes = 0;
  for (const auto& [name, pages] : *images) {
    if (Status linked = checkpoint::link_image_outside(images_dir, name, assembled / name); !linked) return linked;
    image_bytes += pages * kPageSize;
  }
  if (images_named) images_named(image_bytes);
  fs::path blob = staging_ / "memory.zst";
  Status done = session.receive_blob_to_file("memory", blob);
  if (!done) return done;
  Result<json> digests_message = session.expect("memory-digests");
  if (!digests_message) return std::move(digests_message.error());
  PeerMessage digests_fields(*digests_message);
  std::vector<std::string> digests = digests_fields.strings_or_empty("digests");
  if (Status read = digests_fields.status(); !read) return read;
  if (digests.size() != images->size())
    return make_error(ErrorCode::InvalidInput, "protocol: the `memory-digests` message has " +
                                                   std::to_string(digests.size()) + " digests for " +
                                                   std::to_string(images->size()) + " images");
  if (Status made = assemble(session, blob, coded, assembled, *images, digests); !made) return made;
  return session.send_message({{"type", "memory-assembled"}});
}

Status MemoryReceiver::assemble(Session& session, const fs::path& blob, bool coded, const fs::path& assembled,
                                const std::vector<std::pair<std::string, uint64_t>>& images,
                                const std::vector<std::string>& digests) {
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource records(*file);
  std::vector<base::UniqueFd> outputs;
  std::vector<std::optional<memory::PageHash>> assembled_digests;
  DamagedPages damaged;
  uint64_t largest = 0;
  for (const auto& image : images) largest = std::max(largest, image.second);
  for (const auto& [name, pages] : images) {
    fs::path path = assembled / (name + ".partial");
    Result<base::UniqueFd> output = open_image(path, pages, largest);
    if (!output) return std::move(output.error());
    outputs.push_back(std::move(*output));
    ImageAssembler assembler(store_, outputs.back().get(), damaged, deferring_ ? &deferred_[name] : nullptr);
    Status done = memory::read_page_records(records, pages, assembler, coded);
    if (done && ::ftruncate(outputs.back().get(), static_cast<off_t>(pages * kPageSize)) != 0)
      done = make_error(ErrorCode::Io, "sizing `" + path.string() + "`: " + std::strerror(errno));
    if (!done) return std::move(done.error()).wrap("assembling " + name);
    assembled_digests.push_back(assembler.digest());
  }
  if (!damaged.empty())
    if (Status done = refill(session, damaged); !done) return done;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string& name = images[i].first;
    Result<memory::PageHash> digest =
        assembled_digests[i] ? Result<memory::PageHash>(*assembled_digests[i]) : file_digest(outputs[i].get());
    if (!digest) return std::move(digest.error());
    if (memory::to_hex(*digest) != digests[i])
      return make_error(ErrorCode::Internal, "the memory image " + name + " assembled here does not match "
                                             "the source's; refusing to restore from it");
    fs::path partial = assembled / (name + ".partial");
    if (::rename(partial.c_str(), (assembled / name).c_str()) != 0)
      return make_error(ErrorCode::Io, "cannot rename `" + partial.string() + "`: " + std::strerror(errno));
  }
  return {};
}

Status MemoryReceiver::refill(Session& session, const DamagedPages& damaged) {
  for (auto batch = damaged.begin(); batch != damaged.end();) {
    auto end = batch;
    for (size_t count = 0; end != damaged.end() && count < kMissingPerMessage; ++count) ++end;
    if (Status done = refill_batch(session, batch, end); !done) return done;
    batch = end;
  }
  return {};
}

Status MemoryReceiver::refill_batch(Session& session, DamagedPages::const_iterator begin,
                                    DamagedPages::const_iterator end) {
  json indices = json::array();
  for (auto entry = begin; entry != end; ++entry) indices.push_back(entry->first);
  Status done = session.send_message({{"type", "memory-missing"}, {"indices", indices}});
  fs::path blob = staging_ / "memory-resend.zst";
  if (done) done = session.receive_blob_to_file("memory-resend", blob);
  if (!done) return done;
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource pages(*file);
  std::byte page[kPageSize];
  for (auto entry = begin; entry != end; ++entry) {
    const auto& [index, places] = *entry;
    Result<bool> got = memory::read_exact(pages, std::span(page, kPageSize));
    if (!got) return std::move(got.error());
    if (!*got) return make_error(ErrorCode::InvalidInput, "the source sent fewer pages again than were asked for");
    memory::PageView view(page, kPageSize);
    if (Status replaced = store_.replace(index, view); !replaced) return replaced;
    for (const auto& [fd, offset] : places)
      if (::pwrite(fd, page, kPageSize, offset) != static_cast<ssize_t>(kPageSize))
        return make_error(ErrorCode::Io, std::string("writing a page image: ") + std::strerror(errno));
  }
  return {};
}

}  // namespace dockmig::migrate
