// The container's memory between the agents. Pre-copy rounds send its pages while it runs
// (round 1 all of them, later rounds only contents the destination does not hold yet);
// after the freeze CRIU's page images cross as references to the destination's page store
// plus the pages that changed since the last round. The destination assembles the images
// exactly: each stored page is checked against its hash, a damaged one is sent again, and
// each assembled image must match the source's digest before anything restores from it.
//
// Protocol (after presync, when the destination's "created" said "pages": true):
//   src: {"type":"pages","round":N} + blob "pages"     dst: {"type":"pages-stored","pages":N}
//   (a destination whose "created" said "page_coding": true gets the pages of blobs "pages"
//    and "memory" coded, memory/page_coding.h, and "coded": true in "pages" and "memory")
//   (the last round may come while the source's container is frozen for its dump, as
//    {"type":"pages","round":N,"frozen":true}: from then on the source may be frozen)
//   src: {"type":"precopy-end","memory":BOOL}
// and after the checkpoint blob, when "memory" was true:
//   src: {"type":"memory","images":[{"name","pages"}]} + blob "memory" + {"type":"memory-digests"}
//   dst: {"type":"memory-missing","indices":[...]}     src: blob "memory-resend"   (if needed,
//                                                       as often as needed)
//   dst: {"type":"memory-assembled"}
// (post-copy, when the destination's "created" said "postcopy": true: a `memory` message
//  with "deferred": true may hold runs of deferred pages, which the destination fetches
//  after its restore; postcopy.h)
// Repeat handoffs (return_trip.cc): a source that says "return_cache": true in its prepare
// gets "held_pages": N in "created"; when N > 0, the destination sends blob "held-pages" (N
// page hashes of 16 bytes: its store's pages 0..N-1) after the presync's last signatures,
// before the first "pages", and the source reads it as its pre-copy begins.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "dockmig/migration.h"
#include "memory/container_memory.h"
#include "memory/page.h"
#include "memory/page_coding.h"
#include "memory/page_index.h"
#include "memory/page_records.h"
#include "memory/page_store.h"
#include "memory/return_cache.h"
#include "migrate/progress.h"
#include "migrate/session.h"

namespace dockmig::migrate {

/// When pre-copy should stop and the container freeze: the reason, or nothing to go on.
/// Rounds go on while what they send shrinks by a fifth or more; they stop when the next
/// round's bytes would cross the link within `target_seconds` at the rate measured so far,
/// when it would not shrink enough (the container writes about as fast as the link
/// carries), or after `max_rounds`. The next round is known from `pages_written_since` the
/// last one read, where writes are tracked, else guessed from the last round.
std::optional<std::string> precopy_stop_reason(const std::vector<PrecopyRound>& rounds, double target_seconds,
                                               std::optional<uint64_t> pages_written_since = std::nullopt,
                                               size_t max_rounds = 12);

/// The most page indices one `memory-missing` asks for: its JSON stays well under a
/// frame's 1 MiB however many pages are damaged; more come in further rounds.
inline constexpr size_t kMissingPerMessage = 65536;

/// Whether a checkpoint file is one of CRIU's page images (the memory itself).
bool is_page_image(const std::string& file_name);
/// The names of the page images in `dir`, sorted; none if it cannot be read.
std::vector<std::string> page_images(const std::filesystem::path& dir);

/// Source side: what the destination's page store holds, round after round.
class PrecopySender {
 public:
  PrecopySender(Session& session, int zstd_level) : session_(session), zstd_level_(zstd_level) {}

  /// Before any round: the pages the destination's store holds already from its return
  /// cache (memory/return_cache.h), in its store's order; they cross as references.
  void hold_returned(const std::vector<memory::PageHash>& hashes);
  /// From now on, pages cross coded (memory/page_coding.h): the destination decodes them.
  void code_pages() { encoder_.emplace(); }
  /// Into `report`: how many pages the destination offered, and how many of them this
  /// migration did not send because of that.
  void count_returned(MemoryReport& report) const;
  /// Into `report`: how many pages crossed as word differences.
  void count_coded(MemoryReport& report) const;
  /// Sends rounds of the memory of the processes in `init_pid`'s pid namespace until the
  /// stop rule says freeze; their writes stay tracked until stop_tracking().
  Status run_rounds(int init_pid, double target_seconds, PhaseReport& phase, Progress& progress, MemoryReport& report);
  /// Just before the dump: notes the pages written since the last round and ends the
  /// tracking, so that CRIU dumps the processes as they were. The destructor ends it too.
  void stop_tracking();
  /// While CRIU dumps the frozen container (on another thread than the dump's): one more
  /// round, of the pages stop_tracking() found written since the last round, read from the
  /// frozen processes, so that they cross beside the dump rather than after it. Stops
  /// reading once `dump_ended`; send_frozen() then sends what it did not. A page that
  /// changed after all is simply sent again then: send_frozen() compares every page of the
  /// dump with what the destination holds. Runs after run_rounds() only, then even with
  /// no page to send.
  Status run_freeze_round(const std::atomic<bool>& dump_ended, PhaseReport& phase, Progress& progress,
                          MemoryReport& report);
  /// Ends the rounds ("precopy-end"), once.
  Status end_rounds();
  /// Stop-and-copy: no rounds; all memory goes after the freeze, by send_frozen.
  Status skip_rounds();
  /// After the dump, for the progress line's total: about how many raw bytes send_frozen
  /// will send of the page images in `images_dir`. After rounds: the pages written since
  /// the last one read (as the kernel counted them; else as many as that round sent);
  /// without rounds: the images less the pages the destination holds. Never more than the
  /// images.
  uint64_t frozen_bytes_expected(const std::filesystem::path& images_dir) const;
  /// Post-copy: send_frozen() leaves the processes' private pages that the destination
  /// lacks here (postcopy.h); the destination fetches them after its restore.
  void defer_private_memory() { defer_ = true; }
  bool defers() const { return defer_; }
  /// At the freeze: CRIU's page images in `images_dir`, against what the destination holds.
  Status send_frozen(const std::filesystem::path& images_dir, PhaseReport& phase, Progress& progress,
                     MemoryReport& report);

 private:
  Status run_round(memory::ContainerMemory& memory, size_t number, PhaseReport& phase, Progress& progress,
                   PrecopyRound& round);
  /// The destination's `pages-stored` for a round that sent `pages_sent` pages.
  Status expect_stored(uint64_t pages_sent, const std::string& round);
  Status resend(const std::filesystem::path& images_dir, const std::vector<std::string>& images,
                const nlohmann::json& indices, PhaseReport& phase, Progress& progress, MemoryReport& report);
  Result<memory::PageHash> encode_image(const std::filesystem::path& image, const std::vector<bool>* deferrable,
                                        memory::PageRecordWriter& records, MemoryReport& report);
  uint32_t hold(const memory::PageHash& hash);
  /// A `pages` or `memory` message, saying whether its blob's pages are coded.
  nlohmann::json pages_message(nlohmann::json message) const;
  Status write_page(transfer::ByteSink& sink, memory::PageView page);
  void note_returned(uint32_t index);

  Session& session_;
  int zstd_level_;
  std::optional<memory::PageEncoder> encoder_;  // pages cross coded: the destination said so
  std::vector<std::byte> coded_;                // write_page()'s buffer
  memory::HeldPages held_;
  memory::PageAddressSet read_before_;  // (pid, page) that a round has read
  std::vector<bool> returned_used_;  // per store index the return cache seeded: referenced since
  std::optional<uint64_t> pages_after_rounds_;  // run_rounds(): what the frozen pages should be
  std::optional<memory::ContainerMemory> tracked_;  // from run_rounds() to stop_tracking()
  memory::ProcessPages freeze_pages_;           // stop_tracking(): written since the last round
  bool freeze_round_due_ = false;               // rounds ran: one more goes beside the dump
  bool rounds_ended_ = false;
  bool defer_ = false;  // post-copy: private pages the destination lacks stay here
};

/// Pages of the store that failed their hash: store index -> where the assembled images
/// need it (fd, offset).
using DamagedPages = std::map<uint32_t, std::vector<std::pair<int, off_t>>>;

/// Post-copy: per page image, the pages the source left behind (page index -> hash).
using DeferredPages = std::map<std::string, std::map<uint64_t, memory::PageHash>>;

/// Where a state dir keeps the pages of containers that left (memory/return_cache.h).
inline std::filesystem::path return_cache_dir(const std::filesystem::path& state_dir) {
  return state_dir / "return-cache";
}

/// Destination: the hashes of the pages its store holds before round 1, as blob "held-pages".
Status send_held_pages(Session& session, const std::vector<memory::PageHash>& held);
/// Source: blob "held-pages" of `count` hashes, staged in `work_dir`.
Result<std::vector<memory::PageHash>> receive_held_pages(Session& session, const std::filesystem::path& work_dir,
                                                         uint64_t count);
/// How the return cache names an image (memory::ReturnCacheKey::image): a digest of its
/// layers (RootFS.Layers), which a host that took the image by its layers (another id, or
/// the other image store) names alike; its id when the layers are not known.
std::string return_image_key(const std::vector<std::string>& layers, const std::string& image_id);
/// Source, once the destination committed: keeps the checkpoint's page images in
/// `images_dir` for the container's return (docs/design.md, "Repeat handoffs"); a failure
/// costs only that, and is logged.
void keep_for_return(const std::filesystem::path& state_dir, const memory::ReturnCacheKey& key,
                     const std::filesystem::path& images_dir);

/// Destination side.
class MemoryReceiver {
 public:
  static Result<MemoryReceiver> create(const std::filesystem::path& staging);

  /// Before any round: puts the pages of `key`'s return cache entry into the store, and
  /// returns their hashes in store order (for "held-pages").
  Result<std::vector<memory::PageHash>> seed_from(const memory::ReturnCache& cache, const memory::ReturnCacheKey& key);

  /// Serves the pre-copy rounds up to "precopy-end"; true when the checkpoint's page
  /// images will then come separately (receive_frozen). `source_frozen` is called when a
  /// round says the source's container is frozen for its dump.
  Result<bool> receive_rounds(Session& session, const std::function<void()>& source_frozen = {});
  /// Called once the page images' names are linked, before their pages arrive, with their
  /// size in bytes.
  using ImagesNamed = std::function<void(uint64_t image_bytes)>;
  /// Assembles the frozen memory, exactly, or fails; the page images stay in the staging
  /// dir and `images_dir` (Docker's checkpoint dir) links to them.
  Status receive_frozen(Session& session, const std::filesystem::path& images_dir,
                        const ImagesNamed& images_named = {});
  /// From the `memory` message on: whether the source left pages behind (post-copy).
  bool deferring() const { return deferring_; }
  /// After receive_frozen: the pages the source left behind, and where their images are.
  DeferredPages take_deferred() { return std::exchange(deferred_, {}); }
  std::filesystem::path assembled_dir() const { return staging_ / "memory"; }

 private:
  MemoryReceiver(memory::PageStore store, std::filesystem::path staging)
      : store_(std::move(store)), staging_(std::move(staging)) {}
  Status store_round(Session& session, bool coded);
  /// Room for the largest page image, taken while the rounds run and the container too:
  /// at the freeze, writing into pages the file system already holds is the faster half
  /// (1 GiB here: tmpfs 1.00 s into a new file, 0.64 s after fallocate; ext4 2.28 s
  /// against 0.87 s).
  Status reserve_image_room();
  /// The file of image `name` with `pages` pages, opened for writing: the room reserved,
  /// when this is the largest image.
  Result<base::UniqueFd> open_image(const std::filesystem::path& path, uint64_t pages, uint64_t largest);
  /// Asks the source again for the stored pages that failed their hash, and writes them
  /// where the images need them; kMissingPerMessage at a time.
  Status refill(Session& session, const DamagedPages& damaged);
  /// Writes the images from the records in `blob` (literal pages `coded` or not), checks
  /// each against its digest, and only then gives it its name.
  Status assemble(Session& session, const std::filesystem::path& blob, bool coded,
                  const std::filesystem::path& assembled,
                  const std::vector<std::pair<std::string, uint64_t>>& images, const std::vector<std::string>& digests);
  Status refill_batch(Session& session, DamagedPages::const_iterator begin, DamagedPages::const_iterator end);

  memory::PageStore store_;
  std::filesystem::path staging_;
  base::UniqueFd image_room_;
  bool deferring_ = false;
  DeferredPages deferred_;
};

}  // namespace dockmig::migrate
