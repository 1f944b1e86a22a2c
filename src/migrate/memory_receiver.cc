// The destination side of memory pre-copy (memory_sync.h): the page store, and the exact
// assembly of CRIU's page images from it at the freeze.
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <map>

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

// Writes one page image from its records; a stored page that fails its hash is left as a
// hole and listed, to be filled once the source has sent it again.
class ImageAssembler : public memory::PageRecordVisitor {
 public:
  ImageAssembler(memory::PageStore& store, int fd, DamagedPages& damaged)
      : store_(store), fd_(fd), damaged_(damaged) {}

  Status zero(uint32_t count) override {
    offset_ += static_cast<off_t>(count) * kPageSize;  // the file is sized at the end: a hole reads as zeros
    return {};
  }
  Status known(uint32_t first, uint32_t count) override {
    std::byte page[kPageSize];
    for (uint32_t index = first; index - first < count; ++index) {
      Result<bool> intact = store_.read(index, std::span<std::byte, kPageSize>(page, kPageSize));
      if (!intact) return std::move(intact.error());
      if (!*intact) damaged_[index].emplace_back(fd_, offset_);
      else if (Status written = write(memory::PageView(page, kPageSize)); !written) return written;
      offset_ += kPageSize;
    }
    return {};
  }
  Status literal(memory::PageView page) override {
    Status stored = store_.append(page);
    if (stored) stored = write(page);
    offset_ += kPageSize;
    return stored;
  }

 private:
  Status write(memory::PageView page) {
    if (::pwrite(fd_, page.data(), kPageSize, offset_) != static_cast<ssize_t>(kPageSize))
      return make_error(ErrorCode::Io, std::string("writing a page image: ") + std::strerror(errno));
    return {};
  }

  memory::PageStore& store_;
  int fd_;
  DamagedPages& damaged_;
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

bool valid_image_name(const std::string& name) {
  return is_page_image(name) && name.find('/') == std::string::npos && name.size() < 64;
}

// More pages than this in one image (16 TiB) is no container's memory, and would overflow
// the image's size as an off_t.
constexpr uint64_t kMaxImagePages = uint64_t{1} << 32;

/// The `memory` message's images: each page image's file name and its size in pages.
Result<std::vector<std::pair<std::string, uint64_t>>> image_list(const json& header) {
  PeerMessage fields(header);
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

Result<bool> MemoryReceiver::receive_rounds(Session& session) {
  for (;;) {
    Result<json> message = session.receive_message();
    if (!message) return std::move(message.error());
    PeerMessage fields(*message);
    std::string type = fields.type();
    bool memory_follows = fields.boolean_or("memory", false);
    if (Status read = fields.status(); !read) return std::move(read.error());
    if (type == "precopy-end") return memory_follows;
    if (type != "pages")
      return make_error(ErrorCode::InvalidInput, "protocol: expected `pages` or `precopy-end`, got `" + type + "`");
    Status stored = store_round(session);
    if (!stored) return std::move(stored.error());
  }
}

Status MemoryReceiver::store_round(Session& session) {
  fs::path blob = staging_ / "pages.zst";
  Status received = session.receive_blob_to_file("pages", blob);
  if (!received) return received;
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource pages(*file);
  uint64_t count = 0;
  std::byte page[kPageSize];
  for (;;) {
    Result<bool> got = memory::read_exact(pages, std::span(page, kPageSize));
    if (!got) return std::move(got.error()).wrap("reading pre-copy pages");
    if (!*got) break;
    Status appended = store_.append(memory::PageView(page, kPageSize));
    if (!appended) return appended;
    ++count;
  }
  return session.send_message({{"type", "pages-stored"}, {"pages", count}});
}

Status MemoryReceiver::receive_frozen(Session& session, const fs::path& images_dir) {
  Result<json> header = session.expect("memory");
  if (!header) return std::move(header.error());
  Result<std::vector<std::pair<std::string, uint64_t>>> images = image_list(*header);
  if (!images) return std::move(images.error());
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

  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource records(*file);
  std::vector<base::UniqueFd> outputs;
  DamagedPages damaged;
  fs::path assembled = staging_ / "memory";
  std::error_code ec;
  fs::create_directories(assembled, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + assembled.string() + "`: " + ec.message());
  for (const auto& [name, pages] : *images) {
    fs::path path = assembled / name;
    outputs.emplace_back(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!outputs.back()) return make_error(ErrorCode::Io, "cannot create `" + path.string() + "`: " + std::strerror(errno));
    ImageAssembler assembler(store_, outputs.back().get(), damaged);
    done = memory::read_page_records(records, pages, assembler);
    if (done && ::ftruncate(outputs.back().get(), static_cast<off_t>(pages * kPageSize)) != 0)
      done = make_error(ErrorCode::Io, "sizing `" + path.string() + "`: " + std::strerror(errno));
    if (!done) return std::move(done.error()).wrap("assembling " + name);
  }
  if (!damaged.empty()) {
    done = refill(session, damaged);
    if (!done) return done;
  }
  for (size_t i = 0; i < images->size(); ++i) {
    const std::string& name = (*images)[i].first;
    Result<memory::PageHash> digest = file_digest(outputs[i].get());
    if (!digest) return std::move(digest.error());
    if (memory::to_hex(*digest) != digests[i])
      return make_error(ErrorCode::Internal, "the memory image " + name + " assembled here does not match "
                                             "the source's; refusing to restore from it");
    Status linked = checkpoint::link_image_outside(images_dir, name, assembled / name);
    if (!linked) return linked;
  }
  return session.send_message({{"type", "memory-assembled"}});
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
