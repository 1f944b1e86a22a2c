#include "migrate/postcopy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#include "faults/fault_points.h"
#include "memory/page.h"
#include "memory/page_records.h"
#include "migrate/peer_message.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using memory::kPageSize;

// A fetch takes the pages left behind after the one wanted too (the next fault is likely
// near, and each request costs the link's round trip), as many as cross in about this long.
constexpr std::chrono::duration<double> kFetchTarget{0.4};
constexpr uint64_t kMinFetchPages = 64, kMaxFetchPages = 1024;
constexpr uint64_t kLendChunkPages = 256;

Status read_fully(int fd, std::span<std::byte> out, uint64_t at, const std::string& what) {
  for (size_t done = 0; done < out.size();) {
    ssize_t got = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(at + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      return make_error(ErrorCode::Io, "reading " + what + ": " + (got == 0 ? "it ends early" : std::strerror(errno)));
    done += static_cast<size_t>(got);
  }
  return {};
}

std::string hex_address(uint64_t address) {
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

}  // namespace

Deferral choose_deferral(MemoryMode asked, const std::string& stop_reason, const std::string& refusal) {
  bool post_copy = asked == MemoryMode::PostCopy;
  bool hybrid = asked == MemoryMode::Hybrid ||
                (asked == MemoryMode::PreCopy && stop_reason.starts_with("not converging"));
  std::string without = post_copy ? "stop-and-copy" : asked == MemoryMode::StopAndCopy ? "stop-and-copy" : "pre-copy";
  if (!post_copy && !hybrid) return {false, without, ""};
  if (refusal.empty()) return {true, post_copy ? "post-copy" : "hybrid", ""};
  // Pre-copy that would have turned hybrid says why it did not only in the log.
  std::string fallback = asked == MemoryMode::PreCopy ? "" : "the destination cannot restore lazily: " + refusal;
  return {false, without, fallback};
}

Result<json> PageLender::lend_until_other(Session& session, PhaseReport& phase, Progress& progress, int zstd_level) {
  for (;;) {
    Result<json> message = session.receive_message();
    if (!message) return message;
    if (message_type(*message) != "page-get") return message;
    if (pages_lent_ == 0) DOCKMIG_FAULT_POINT("source.before-lend-pages", [&] { session.cut(); });
    if (Status lent = lend(session, *message, phase, progress, zstd_level); !lent) return std::move(lent.error());
  }
}

void read_pages_done(const json& done, PostcopyReport& report) {
  report.pages_fetched = count_or_zero(done, "pages");
  report.fetches = count_or_zero(done, "fetches");
  report.last_page_seconds = seconds_or_zero(done, "seconds");
}

Result<PageLender> PageLender::open(const fs::path& images_dir) {
  PageLender lender;
  for (const std::string& name : page_images(images_dir)) {
    fs::path path = images_dir / name;
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat about {};
    if (!fd || ::fstat(fd.get(), &about) != 0)
      return make_error(ErrorCode::Io, "cannot open `" + path.string() + "` to lend its pages: " + std::strerror(errno));
    lender.images_[name] = {std::move(fd), static_cast<uint64_t>(about.st_size) / kPageSize};
  }
  return lender;
}

Status PageLender::lend(Session& session, const json& request, PhaseReport& phase, Progress& progress,
                        int zstd_level) {
  PeerMessage fields(request, "page-get");
  std::string name = fields.string("image");
  uint64_t first = fields.count("first");
  uint64_t count = fields.count("count", kMaxPagesPerGet);
  if (Status read = fields.status(); !read) return read;
  auto image = images_.find(name);
  if (image == images_.end() || count == 0 || first > image->second.pages || count > image->second.pages - first)
    return make_error(ErrorCode::InvalidInput, "protocol: the destination asked for " + std::to_string(count) +
                                                   " pages of `" + name + "` from page " + std::to_string(first) +
                                                   ", which this checkpoint does not hold");
  std::vector<std::byte> chunk(kLendChunkPages * kPageSize);
  Status sent = session.send_stream("page-data", phase, progress, zstd_level, [&](transfer::ByteSink& sink) -> Status {
    for (uint64_t done = 0; done < count;) {
      uint64_t pages = std::min(kLendChunkPages, count - done);
      std::span<std::byte> part(chunk.data(), pages * kPageSize);
      if (Status read = read_fully(image->second.fd.get(), part, (first + done) * kPageSize, name); !read) return read;
      if (Status written = sink.write(part); !written) return written;
      done += pages;
    }
    return sink.finish();
  });
  if (sent) pages_lent_ += count;
  return sent;
}

RemotePages::RemotePages(Session& session, fs::path images_dir, fs::path assembled_dir, fs::path staging,
                         DeferredPages deferred)
    : session_(session), images_dir_(std::move(images_dir)), assembled_dir_(std::move(assembled_dir)),
      staging_(std::move(staging)), deferred_(std::move(deferred)) {}

Result<uint64_t> RemotePages::read(uint64_t task, uint64_t vaddr, uint64_t pages, std::span<std::byte> out) {
  if (pages == 0 || pages > kMaxPagesPerGet || out.size() != pages * kPageSize)
    return make_error(ErrorCode::InvalidInput, "the lazy-pages daemon asked for " + std::to_string(pages) + " pages at once");
  Result<const checkpoint::Pagemap*> pagemap = pagemap_of(task);
  if (!pagemap) return std::move(pagemap.error());
  const std::string& name = (*pagemap)->pages_image();
  Result<Image*> image = this->image(name);
  if (!image) return std::move(image.error());
  uint64_t done = 0;
  while (done < pages) {
    std::optional<uint64_t> first = (*pagemap)->page_index(vaddr + done * kPageSize);
    if (!first)
      return make_error(ErrorCode::InvalidInput, "the lazy-pages daemon asked for page " +
                                                     hex_address(vaddr + done * kPageSize) + " of process " +
                                                     std::to_string(task) + ", which its checkpoint does not hold");
    uint64_t run = 1;
    while (done + run < pages && (*pagemap)->page_index(vaddr + (done + run) * kPageSize) == *first + run) ++run;
    uint64_t here = local_run(**image, *first, run);
    if (here == 0 && done > 0) break;  // the daemon asks again for the rest
    if (here == 0) {
      if (Status fetched = fetch_from(name, **image, *first); !fetched) return std::move(fetched.error());
      here = local_run(**image, *first, run);
    }
    std::span<std::byte> part = out.subspan(done * kPageSize, here * kPageSize);
    if (Status read = read_fully((*image)->fd.get(), part, *first * kPageSize, name); !read) return std::move(read.error());
    done += here;
    if (here < run) break;
  }
  return done;
}

Result<const checkpoint::Pagemap*> RemotePages::pagemap_of(uint64_t task) {
  auto known = pagemaps_.find(task);
  if (known != pagemaps_.end()) return &known->second;
  Result<checkpoint::Pagemap> pagemap = checkpoint::read_pagemap(checkpoint::pagemap_file(images_dir_, task));
  if (!pagemap) return std::move(pagemap.error());
  return &pagemaps_.emplace(task, std::move(*pagemap)).first->second;
}

Result<RemotePages::Image*> RemotePages::image(const std::string& name) {
  auto open = images_.find(name);
  if (open != images_.end()) return &open->second;
  fs::path path = assembled_dir_ / name;
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return make_error(ErrorCode::Io, "cannot open `" + path.string() + "`: " + std::strerror(errno));
  Image& image = images_[name];
  image.fd = std::move(fd);
  if (auto left = deferred_.find(name); left != deferred_.end()) image.deferred = std::move(left->second);
  return &image;
}

uint64_t RemotePages::local_run(const Image& image, uint64_t first, uint64_t count) {
  auto missing = image.deferred.lower_bound(first);
  return missing == image.deferred.end() ? count : std::min(count, missing->first - first);
}

// A fetch is sized to cross in about kFetchTarget at the link's measured rate: a fault
// waits for at most one, its own or one queued before it.
Status RemotePages::fetch_from(const std::string& name, Image& image, uint64_t first) {
  double rate = session_.link_bytes_per_second();
  uint64_t most = rate > 0 ? static_cast<uint64_t>(rate * kFetchTarget.count() / kPageSize) : kMaxFetchPages;
  most = std::clamp(most, kMinFetchPages, kMaxFetchPages);
  uint64_t length = 0;
  for (auto page = image.deferred.find(first); page != image.deferred.end() && page->first == first + length &&
                                               length < most;
       ++page)
    ++length;
  return fetch(name, image, first, length);
}

Status RemotePages::fetch(const std::string& name, Image& image, uint64_t first, uint64_t count) {
  fs::path blob = staging_ / "page-data.zst";
  {
    std::lock_guard lock(link_);
    if (fetches_ == 0) DOCKMIG_FAULT_POINT("destination.before-first-fetch", [this] { session_.cut(); });
    fetching_ = true;
    Status received = session_.send_message({{"type", "page-get"}, {"image", name}, {"first", first}, {"count", count}});
    if (received) received = session_.receive_blob_to_file("page-data", blob);
    fetching_ = false;
    if (!received) return std::move(received.error()).wrap("fetching " + std::to_string(count) + " pages of " + name);
    ++fetches_;
    pages_fetched_ += count;
    last_fetch_ = std::chrono::steady_clock::now();
  }
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource pages(*file);
  std::array<std::byte, kPageSize> page;
  for (uint64_t i = 0; i < count; ++i) {
    Result<bool> got = memory::read_exact(pages, page);
    if (!got) return std::move(got.error());
    auto left = image.deferred.find(first + i);
    if (!*got || left == image.deferred.end())
      return make_error(ErrorCode::InvalidInput, "the source sent fewer pages of " + name + " than were asked for");
    if (memory::hash_page(page) != left->second)
      return make_error(ErrorCode::Internal, "page " + std::to_string(first + i) + " of " + name +
                                                 " came from the source unlike the hash it sent at the freeze");
    if (::pwrite(image.fd.get(), page.data(), kPageSize, static_cast<off_t>((first + i) * kPageSize)) !=
        static_cast<ssize_t>(kPageSize))
      return make_error(ErrorCode::Io, "writing a fetched page into " + name + ": " + std::strerror(errno));
    image.deferred.erase(left);
  }
  spdlog::debug("post-copy: fetched {} pages of {} from page {}", count, name, first);
  return {};
}

Status RemotePages::send_message(const json& message) {
  std::lock_guard lock(link_);
  return session_.send_message(message);
}

void RemotePages::restore_ended() {
  std::lock_guard lock(link_);
  restore_ended_ = std::chrono::steady_clock::now();
}

std::chrono::steady_clock::duration RemotePages::idle_for() const {
  if (fetching_) return {};
  std::lock_guard lock(link_);
  return std::chrono::steady_clock::now() - std::max(last_fetch_, restore_ended_);
}

json RemotePages::done_message() const {
  std::lock_guard lock(link_);
  double seconds = std::max(0.0, std::chrono::duration<double>(last_fetch_ - restore_ended_).count());
  return {{"type", "pages-done"}, {"pages", pages_fetched_}, {"fetches", fetches_}, {"seconds", seconds}};
}

}  // namespace dockmig::migrate
