// What a destination checks of itself before the source freezes anything: that its CRIU
// can restore what the source's CRIU dumps, and that its disks hold what will arrive.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/criu.h"
#include "dockmig/result.h"

namespace dockmig::migrate {

/// The destination's CRIU as `criu check` last found it. A passing check is trusted for
/// kTrustFor, so back-to-back handoffs do not each pay its 0.4 s; a failing one is
/// repeated every time, so a fixed host is seen at once. Safe to share between sessions.
class CriuReadiness {
 public:
  static constexpr std::chrono::seconds kTrustFor{60};

  explicit CriuReadiness(std::string binary) : binary_(std::move(binary)) {}

  /// Refuses a CRIU that is missing, fails `criu check`, is older than dockmig needs, or
  /// older than `source_version` (the source's CRIU, "4.2.1"; empty when unknown): an
  /// older CRIU may not read the image fields a newer one writes.
  Status check(const std::string& source_version);
  const std::string& binary() const { return binary_; }

 private:
  Result<checkpoint::CriuVersion> passing_version();

  std::mutex mutex_;
  std::string binary_;
  std::optional<checkpoint::CriuVersion> passed_;
  std::chrono::steady_clock::time_point passed_at_;
};

/// Whether a destination CRIU of `here` may restore a dump made by CRIU `source`.
Status check_criu_versions(const checkpoint::CriuVersion& here, const std::string& source);

/// Bytes that will be written under `dir`.
struct SpaceNeed {
  std::filesystem::path dir;
  uint64_t bytes = 0;
};

/// Bytes free on the file system of `dir`, or of its nearest existing ancestor when `dir`
/// is not made yet; 0 when that cannot be read.
uint64_t free_bytes_near(const std::filesystem::path& dir);

/// Room kept free beyond what a migration expects to write: the sizes are estimates
/// (the checkpoint carries more than the resident memory's pages), and a full disk stops
/// more than this migration.
inline constexpr uint64_t kSpareBytes = 64ull << 20;

/// Refuses when a file system lacks room for what its dirs need, needs of dirs on the
/// same file system added up, with kSpareBytes to spare.
Status check_free_space(const std::vector<SpaceNeed>& needs);

/// Copies of a migration's memory that a destination holds at once when it stages pages in
/// memory: the page store, the page images assembled from it, and the restored container.
inline constexpr uint64_t kMemoryStagingCopies = 3;

/// An agent's dir for pages under `root` (a tmpfs such as /dev/shm), named after its state
/// dir: agents with state dirs of their own never clear each other's at start.
std::filesystem::path memory_staging_root(const std::filesystem::path& root, const std::filesystem::path& state_dir);

/// Whether `memory_bytes` of pages may be staged on a memory-backed file system with
/// `fs_free` bytes free, on a host with `host_available` bytes of memory available: the
/// store and the images must fit there, and they and the restored container in memory,
/// each with kSpareBytes to spare.
bool memory_staging_fits(uint64_t memory_bytes, uint64_t fs_free, uint64_t host_available);

/// `fast` (a dir on a tmpfs such as /dev/shm) when memory_staging_fits this host now, else
/// `fallback`. At the freeze the destination copies every pre-copied page from its store
/// into CRIU's images, and in memory that copy takes about half its time on disk.
std::filesystem::path choose_memory_staging(const std::filesystem::path& fast, const std::filesystem::path& fallback,
                                            uint64_t memory_bytes);

/// Refuses a create body (already past the policy) whose bind mount names a source path
/// that does not exist here: the user maps it with --bind-map to a path that must.
Status check_bind_sources(const nlohmann::json& create);

}  // namespace dockmig::migrate
