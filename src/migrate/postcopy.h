// Post-copy: the pages the source left behind at the freeze (memory_sync.h, "deferred")
// cross after the restore, when the restored container or the lazy-pages daemon's
// background fill asks for them. The destination's CRIU lazy-pages daemon asks dockmig's
// own page server (checkpoint/lazy_page_server.h) for every lazy page; RemotePages answers
// from the assembled images, fetching the pages still at the source over the migration's
// own authenticated link first. Each fetched page is checked against the hash the source
// sent at the freeze before it reaches the container.
//
// Protocol, from the `memory-assembled` of a memory that was "deferred" on, until both
// `restored` and `pages-done` have crossed (in either order):
//   dst: {"type":"page-get","image":NAME,"first":I,"count":N}   src: blob "page-data" (N raw pages)
//   dst: {"type":"pages-done","pages":N,"fetches":F,"seconds":S}
// The source keeps its checkpoint, and so every page, until the destination commits.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "checkpoint/pagemap_image.h"
#include "dockmig/migration.h"
#include "migrate/memory_sync.h"
#include "migrate/progress.h"
#include "migrate/session.h"

namespace dockmig::migrate {

/// The most pages one `page-get` may ask for (16 MiB).
inline constexpr uint64_t kMaxPagesPerGet = 4096;

/// Source: whether the memory left after the rounds stays here for post-copy.
struct Deferral {
  bool defer = false;
  std::string mode;      // the memory's mode as it happens: pre-copy, stop-and-copy, post-copy or hybrid
  std::string fallback;  // why post-copy or hybrid was asked for but not done
};
/// `asked` the request's mode; `stop_reason` the pre-copy stop rule's last word (pre-copy
/// turns hybrid when it says the container writes faster than the link carries);
/// `refusal` why the destination cannot restore lazily, "" when it can.
Deferral choose_deferral(MemoryMode asked, const std::string& stop_reason, const std::string& refusal);

/// Source side: the checkpoint's page images, lent page run by page run.
class PageLender {
 public:
  /// Opens the page images in `images_dir` now: they stay readable wherever the dir moves.
  static Result<PageLender> open(const std::filesystem::path& images_dir);

  /// Answers one `page-get`; a request for what the checkpoint does not hold is an error.
  Status lend(Session& session, const nlohmann::json& request, PhaseReport& phase, Progress& progress,
              int zstd_level);
  uint64_t pages_lent() const { return pages_lent_; }
  /// Answers `page-get`s until another message comes, and returns that one.
  Result<nlohmann::json> lend_until_other(Session& session, PhaseReport& phase, Progress& progress, int zstd_level);

 private:
  struct Image {
    base::UniqueFd fd;
    uint64_t pages = 0;
  };
  std::map<std::string, Image> images_;
  uint64_t pages_lent_ = 0;
};

/// Source: what a `pages-done` says, into `report`.
void read_pages_done(const nlohmann::json& done, PostcopyReport& report);

/// Destination side: reads the restored processes' pages for the lazy-pages daemon.
class RemotePages {
 public:
  /// `images_dir` holds the checkpoint's pagemaps; `assembled_dir` the page images, with
  /// holes where `deferred` pages are still at the source. Fetches go over `session`,
  /// into `staging` (a blob at a time).
  RemotePages(Session& session, std::filesystem::path images_dir, std::filesystem::path assembled_dir,
              std::filesystem::path staging, DeferredPages deferred);

  /// Fills `out` with `pages` pages of process `task` from `vaddr` on (LazyPageServer's
  /// reader), as far as they are here, fetching those still at the source first when the
  /// first is one of them; returns how many it filled.
  Result<uint64_t> read(uint64_t task, uint64_t vaddr, uint64_t pages, std::span<std::byte> out);

  /// The migration's own messages while pages may be fetched take the link's turn.
  Status send_message(const nlohmann::json& message);
  /// Whether a fetch waits on the link now (safe from any thread).
  bool fetching() const { return fetching_; }
  /// How long since a fetch last completed (or the restore ended), while none is under
  /// way; zero during a fetch.
  std::chrono::steady_clock::duration idle_for() const;
  /// The restore has ended: `pages-done` counts the time to the last page from here.
  void restore_ended();
  /// `pages-done`, once the daemon has filled every process.
  nlohmann::json done_message() const;

 private:
  struct Image {
    base::UniqueFd fd;
    std::map<uint64_t, memory::PageHash> deferred;  // still at the source
  };
  Result<const checkpoint::Pagemap*> pagemap_of(uint64_t task);
  Result<Image*> image(const std::string& name);
  /// Of `count` pages of an image from `first`, how many are here before one that is not.
  static uint64_t local_run(const Image& image, uint64_t first, uint64_t count);
  /// Fetches page `first` (still at the source) and those left behind after it.
  Status fetch_from(const std::string& name, Image& image, uint64_t first);
  Status fetch(const std::string& name, Image& image, uint64_t first, uint64_t count);

  Session& session_;
  std::filesystem::path images_dir_, assembled_dir_, staging_;
  std::map<uint64_t, checkpoint::Pagemap> pagemaps_;
  std::map<std::string, Image> images_;
  DeferredPages deferred_;  // until its image is opened
  std::atomic<bool> fetching_ = false;
  mutable std::mutex link_;  // the session, and what fetches count
  uint64_t pages_fetched_ = 0, fetches_ = 0;
  std::chrono::steady_clock::time_point restore_ended_, last_fetch_;
};

}  // namespace dockmig::migrate
