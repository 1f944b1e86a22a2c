// The contract shared by the CLI, the agent, the benchmark and the tests: what a migration
// is asked to do, and what it reports.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dockmig {

namespace migrate {
class Ownership;
}

/// The phases of a migration, in order; their names are the report's.
inline constexpr const char* kPhaseNames[] = {"plan",      "image",     "presync", "precopy",
                                              "checkpoint", "finalsync", "restore", "confirm"};

/// How the container's memory moves. Pre-copy sends it in rounds while the container runs,
/// so that after the freeze only what changed since the last round crosses the link, and
/// turns hybrid when its stop rule finds the container writing faster than the link
/// carries (and the destination can restore lazily); stop-and-copy sends all of it after
/// the freeze. Post-copy sends none of the processes' private memory before the restore:
/// the destination fetches it from the source while the container runs there. Hybrid is
/// pre-copy rounds, then post-copy for what the last round left.
enum class MemoryMode { PreCopy, StopAndCopy, PostCopy, Hybrid };

/// How the link between the two agents is protected. TLS with mutual authentication unless
/// `insecure`; a plain link works only when both ends chose it (docs/api.md, "Transport").
struct TransportSecurity {
  std::string cert;         // this host's certificate (PEM), e.g. made by `dockmig certs`
  std::string key;          // its private key (PEM)
  std::string ca;           // the CA that signed the agents' certificates (PEM)
  std::string server_name;  // the name the destination's certificate must carry; "" = its address
  bool insecure = false;    // plain TCP, unencrypted and unauthenticated
};

/// MigrationRequest::zstd_level when each stream's level is chosen from the measured link
/// rate and the compression speed on a sample of its data (docs/design.md, "Compression
/// matched to the link").
inline constexpr int kZstdLevelAuto = 0;

/// A bind mount's source directory here and the directory at the destination that the
/// migrated container mounts instead (`--bind-map SRC=DST`); DST must exist there.
struct BindMapping {
  std::string source;
  std::string destination;
  bool operator==(const BindMapping&) const = default;
};

/// What becomes of the container's open TCP connections. Close: CRIU closes them at the
/// freeze and clients reconnect. Established: CRIU restores them at the destination, which
/// needs the container's address there (docs/design.md, "Open TCP connections").
enum class TcpMode { Close, Established };
/// "close" | "established", as --tcp, the API and the peer protocol spell it.
inline const char* tcp_mode_name(TcpMode mode) { return mode == TcpMode::Established ? "established" : "close"; }
inline std::optional<TcpMode> parse_tcp_mode(const std::string& text) {
  if (text == "close") return TcpMode::Close;
  if (text == "established") return TcpMode::Established;
  return std::nullopt;
}

/// How the destination puts the memory back. Eager: CRIU writes every page before the
/// container runs. Lazy: the container runs once its processes exist, and a `criu
/// lazy-pages` daemon fills its private memory behind it from the images already there
/// (docs/design.md, "Lazy restore"); the source is removed only once every page is in.
/// Auto: lazy where it pays (the checkpoint's page images reach kLazyRestoreMinBytes,
/// src/migrate/restore_choice.h, and the destination can), else eager.
enum class RestoreMode { Eager, Lazy, Auto };
/// "eager" | "lazy" | "auto", as --restore and the API spell it (the peer protocol knows
/// the first two: auto crosses as lazy with a threshold, docs/protocol.md).
inline const char* restore_mode_name(RestoreMode mode) {
  if (mode == RestoreMode::Auto) return "auto";
  return mode == RestoreMode::Lazy ? "lazy" : "eager";
}
inline std::optional<RestoreMode> parse_restore_mode(const std::string& text) {
  if (text == "eager") return RestoreMode::Eager;
  if (text == "lazy") return RestoreMode::Lazy;
  if (text == "auto") return RestoreMode::Auto;
  return std::nullopt;
}

struct MigrationRequest {
  std::string container;      // name or id on the source
  std::string destination;    // ADDR:PORT of the destination agent
  std::string docker;         // the source dockerd's socket
  std::string target_name;    // name at the destination; empty = the same
  bool keep_source = false;   // leave the stopped source instead of removing it
  bool dry_run = false;       // plan and say what would move; move nothing
  int zstd_level = kZstdLevelAuto;  // or 1-19: that level for every stream
  MemoryMode memory_mode = MemoryMode::PreCopy;
  /// Pre-copy stops when what is left would cross the link in about this long.
  double precopy_target_seconds = 0.5;
  std::string criu = "criu";  // for the page server at the freeze: the CRIU dockerd runs
  TransportSecurity security;  // for the link to the destination agent
  std::vector<BindMapping> bind_map;  // bind mounts allowed to move, by their mapping
  /// Bind-mounted directories copied to the destination like volumes (`--copy-bind SRC`).
  std::vector<std::string> copy_binds;
  TcpMode tcp = TcpMode::Close;
  RestoreMode restore = RestoreMode::Auto;
  /// Where the journal of the migration's phase lives (`<state_dir>/journal`), for
  /// `dockmig recover`; "" = no journal.
  std::string state_dir = "/var/lib/dockmig";
  /// The fleet's ownership records (--etcd): the handoff commits by swapping the
  /// service's record (docs/fleet.md, "Ownership"); null = no fleet, as before.
  std::shared_ptr<const migrate::Ownership> ownership;
};

/// How one blob was compressed.
struct StreamCompression {
  std::string stream;                // the blob: image, upper, pages, checkpoint, memory, ...
  int zstd_level = 0;                // the level it started with
  int final_zstd_level = 0;          // lower when the compressor fell behind the link
  bool automatic = false;            // chosen from the link and the CPU, not fixed by the request
  double link_bytes_per_second = 0;  // the link rate the choice weighed; 0: none measured yet
  uint64_t raw_bytes = 0;            // the blob before compression
  uint64_t wire_bytes = 0;           // and after: its payload on the link (without framing)
};

struct PhaseReport {
  std::string name;
  double seconds = 0;
  uint64_t wire_bytes = 0;  // bytes on the link, both directions
  uint64_t raw_bytes = 0;   // the same payload before compression
  std::vector<StreamCompression> compression = {};  // the phase's blobs, in order
};

/// One pre-copy round: the pages the destination did not have yet, sent while the
/// container ran.
struct PrecopyRound {
  double seconds = 0;
  uint64_t pages_sent = 0;       // new contents: not yet at the destination
  uint64_t pages_unchanged = 0;  // present there already
  uint64_t pages_redirtied = 0;  // sent in an earlier round, written since: sent again
  uint64_t pages_read = 0;       // read from the container: all its memory, or only what was written
  uint64_t pages_deferred = 0;   // written again during the round before it read them: left for later
  double stopped_seconds = 0;    // the longest any of its processes was stopped (to start tracking it)
  uint64_t raw_bytes = 0;
  uint64_t wire_bytes = 0;
};

/// The pre-copy round that runs while CRIU dumps the frozen container: the pages written
/// since the last round, sent beside the dump instead of after it.
struct FreezeRound {
  bool ran = false;
  double seconds = 0;
  uint64_t pages_read = 0;
  uint64_t pages_sent = 0;
  uint64_t pages_unchanged = 0;
  bool cut_short = false;  // the dump ended first: the pages not read yet crossed after it
  uint64_t raw_bytes = 0;
  uint64_t wire_bytes = 0;
};

/// Pages the source left behind at the freeze (post-copy, hybrid), fetched by the
/// destination after its restore.
struct PostcopyReport {
  uint64_t pages_deferred = 0;  // left at the source after the freeze
  uint64_t pages_fetched = 0;   // fetched over the link, as the restored container or the background fill asked
  uint64_t fetches = 0;         // requests that fetched them
  double last_page_seconds = 0; // from the restore's end until the last page was in
  std::string fallback;         // why post-copy or hybrid was asked for but not done
};

struct MemoryReport {
  std::string mode = "stop-and-copy";  // pre-copy | stop-and-copy | post-copy | hybrid
  std::string tracking;                // how pre-copy found changed pages: uffd-wp | page-hash
  std::vector<PrecopyRound> rounds;
  std::string stop_reason;             // why the last round was the last
  FreezeRound freeze_round;
  /// The checkpoint's memory after the dump: pages sent whole, pages the destination
  /// already had from pre-copy (or the round during the freeze), zero pages, pages sent
  /// again because the destination's copy was damaged.
  uint64_t frozen_pages_sent = 0;
  uint64_t frozen_pages_known = 0;
  uint64_t frozen_pages_zero = 0;
  uint64_t frozen_pages_resent = 0;
  /// Of all the pages sent (rounds and after the freeze), those that crossed as the
  /// differences of their 32-bit words (memory/page_coding.h), which packed smaller.
  uint64_t pages_word_differences = 0;
  /// Repeat handoffs: pages the destination held from its return cache before round 1
  /// (the container left it earlier), and how many of them were not sent because of that.
  uint64_t return_cache_pages_offered = 0;
  uint64_t return_cache_pages_used = 0;
  PostcopyReport postcopy;
};

/// CRIU's share of the checkpoint or the restore phase, from its own log and stats; the
/// rest of the phase is Docker's (dockerd, containerd, runc) and, for the restore, the
/// link's. All 0 when unknown.
struct CriuShare {
  double seconds = 0;         // CRIU's run
  double hooks_seconds = 0;   // of that, waiting for runc's hooks (at a restore: dockerd's network setup)
  double frozen_seconds = 0;  // dump only: from the tasks frozen to the dump's end
  double memory_seconds = 0;  // dump only: collecting the pages and writing them out
  /// Docker's call that ran CRIU (checkpoint create, start from a checkpoint): its time
  /// before CRIU began and after CRIU ended (dockerd, containerd, runc). 0 when unknown.
  double docker_before_seconds = 0;
  double docker_after_seconds = 0;
  /// The checkpoint's images moved on while Docker's call still wound down, so its time
  /// after CRIU is not downtime.
  bool docker_after_overlapped = false;
};

/// One pass over the volumes (and copied bind mounts) before the freeze: pass 1 sends
/// each whole, later ones what changed since the pass before (catch-up passes).
struct VolumePass {
  double seconds = 0;
  uint64_t raw_bytes = 0;
  uint64_t wire_bytes = 0;  // what the source's blobs took, compressed: what the stop rule weighs
  uint64_t link_bytes = 0;  // all of the pass on the link, both ways: with the signatures sent back
};

struct VolumeReport {
  std::vector<VolumePass> passes;  // none when the container has no volume to move
  std::string stop_reason;         // why the last pass was the last
  /// What changed after the last pass, sent after the freeze.
  uint64_t frozen_raw_bytes = 0;
  uint64_t frozen_wire_bytes = 0;
  /// Volumes the destination held as this container left them there: their pass 1 sent
  /// only what differs from that copy (migrate/left_volumes.h).
  std::vector<std::string> held;
};

struct MigrationReport {
  std::string container;
  std::string source;
  std::string destination;
  std::string image_source;  // cache | registry | peer
  std::string transport = "tcp";
  bool dry_run = false;
  bool succeeded = false;
  bool rolled_back = false;  // the source was resumed after a failure
  std::string error;
  std::vector<PhaseReport> phases;
  double handoff_seconds = 0;   // from the command's start to the confirmed restore
  double downtime_seconds = 0;  // from the source's freeze to the restored container running
  uint64_t bytes_total = 0;
  /// The writable layer sent ahead by a preparation (POST /v1/prepare), which the handoff
  /// then did not send: its raw bytes. 0 when the handoff was not prepared.
  uint64_t prepared_bytes_saved = 0;
  MemoryReport memory;
  VolumeReport volumes;
  /// How the checkpoint's memory left CRIU: "page-server" (straight to dockmig) or
  /// "docker" (through containerd's content store).
  std::string checkpoint_path;
  CriuShare criu_dump;
  CriuShare criu_restore;
  /// How the destination restored: "eager" or "lazy"; why not lazy when it was asked for.
  std::string restore_mode = "eager";
  std::string restore_fallback;
  /// What was asked ("eager" | "lazy" | "auto"), and with auto what it chose and why.
  std::string restore_requested = "eager";
  std::string restore_choice;
  /// Lazy only: from the restored container running to every page in place (the source
  /// is removed after that), and the pages the daemon copied.
  double lazy_fill_seconds = 0;
  /// How long before the memory was whole the destination's restore had started (Docker's
  /// start and CRIU up to the memory, checkpoint/early_restore.h); 0 when it waited.
  double restore_started_early_seconds = 0;
  uint64_t lazy_pages = 0;
  /// Packets that reached the destination's published ports from the freeze until the
  /// container ran there, held and then let go to it (hostnet/arrival_hold.h).
  uint64_t held_packets = 0;
  /// How runc's masked dirs (/proc/acpi...) crossed: as external mounts or archived by
  /// CRIU, and why (docs/design.md, "runc's masks of directories").
  std::string masked_dirs;

  PhaseReport& phase(const std::string& name);
};

nlohmann::json to_json(const MigrationReport& report);
/// A table a person can read.
std::string to_text(const MigrationReport& report);

}  // namespace dockmig
