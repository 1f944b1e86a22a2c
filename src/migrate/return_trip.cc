// Repeat handoffs (memory_sync.h, memory/return_cache.h): the source keeps the pages of
// a container that left, and a destination the container comes back to names the pages it
// still holds, so that they cross as references.
#include <span>

#include <spdlog/spdlog.h>

#include "memory/page_records.h"
#include "migrate/memory_sync.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {

namespace fs = std::filesystem;

Status send_held_pages(Session& session, const std::vector<memory::PageHash>& held) {
  PhaseReport unreported;  // the source counts this blob's bytes on its side
  Progress quiet;
  // Hashes do not compress: the lowest level costs nothing.
  return session.send_stream("held-pages", unreported, quiet, 1, [&](transfer::ByteSink& sink) -> Status {
    for (const memory::PageHash& hash : held) {
      if (Status written = sink.write(memory::hash_bytes(hash)); !written) return written;
    }
    return sink.finish();
  });
}

Result<std::vector<memory::PageHash>> receive_held_pages(Session& session, const fs::path& work_dir, uint64_t count) {
  fs::path blob = work_dir / "held-pages.zst";
  if (Status received = session.receive_blob_to_file("held-pages", blob); !received) return std::move(received.error());
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource hashes(*file);
  std::vector<memory::PageHash> held;
  held.reserve(count);
  std::array<std::byte, memory::kPageHashBytes> bytes;
  for (;;) {
    Result<bool> got = memory::read_exact(hashes, bytes);
    if (!got) return std::move(got.error()).wrap("reading the destination's held pages");
    if (!*got) break;
    if (held.size() == count)
      return make_error(ErrorCode::InvalidInput, "protocol: `held-pages` names more than the " +
                                                     std::to_string(count) + " pages `created` announced");
    held.push_back(memory::hash_from_bytes(bytes));
  }
  if (held.size() != count)
    return make_error(ErrorCode::InvalidInput, "protocol: `held-pages` names " + std::to_string(held.size()) +
                                                   " pages, `created` announced " + std::to_string(count));
  std::error_code ignored;
  fs::remove(blob, ignored);
  return held;
}

std::string return_image_key(const std::vector<std::string>& layers, const std::string& image_id) {
  if (layers.empty()) return image_id;
  memory::StreamDigest digest;
  for (const std::string& layer : layers) {
    digest.update(std::as_bytes(std::span(layer.data(), layer.size())));
    digest.update(std::as_bytes(std::span("\n", 1)));
  }
  return "layers:" + memory::to_hex(digest.digest());
}

void keep_for_return(const fs::path& state_dir, const memory::ReturnCacheKey& key, const fs::path& images_dir) {
  std::vector<fs::path> images;
  for (const std::string& name : page_images(images_dir)) images.push_back(images_dir / name);
  if (images.empty()) return spdlog::debug("no page images in `{}` to keep for the return", images_dir.string());
  Status kept = memory::ReturnCache(return_cache_dir(state_dir)).keep(key, images);
  if (!kept) spdlog::warn("the pages of `{}` are not kept for its return: {}", key.container, kept.error().describe());
}

}  // namespace dockmig::migrate
