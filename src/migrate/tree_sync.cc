#include "migrate/tree_sync.h"

#include <sys/stat.h>

#include <limits>

#include <spdlog/spdlog.h>

#include "layers/upper_tar.h"
#include "migrate/peer_message.h"
#include "migrate/upper_deltas.h"
#include "migrate/upper_index.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Status send_tree(Session& session, const std::string& name, const fs::path& dir, const std::vector<std::string>* paths,
                 int level, PhaseReport& phase, Progress& progress) {
  return session.send_stream(name, phase, progress, level, [&](transfer::ByteSink& sink) {
    return layers::write_upper_tar(dir, paths, sink);
  });
}

// Both sides start a transfer with fresh signature and delta dirs.
void reset_dir(const fs::path& dir) {
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  fs::create_directories(dir, ignored);
}

// The signatures of what `changes` deleted or rewrote no longer describe the destination's
// files. A directory that is still one keeps its own (only some of its files changed).
void forget_signatures(const fs::path& signatures, const layers::UpperChanges& changes,
                       const layers::UpperSnapshot& now) {
  std::error_code ignored;
  for (const std::string& path : changes.deleted) fs::remove_all(signatures / path, ignored);
  for (const std::vector<std::string>* paths : {&changes.added, &changes.modified})
    for (const std::string& path : *paths) {
      auto entry = now.entries.find(path);
      bool still_directory = entry != now.entries.end() && S_ISDIR(entry->second.mode);
      if (!still_directory || !fs::is_directory(signatures / path, ignored)) fs::remove_all(signatures / path, ignored);
    }
}

Status send_index(Session& session, const TreeSyncFiles& files, const UpperIndex& index, PhaseReport& phase,
                  Progress& progress) {
  return session.send_stream(files.tree + "-index", phase, progress, files.zstd_level,
                             [&](transfer::ByteSink& sink) { return write_upper_index(index, sink); });
}

// Read from its staging file once its checksum is verified; nothing in it is applied
// before the blobs that follow are verified too.
Result<UpperIndex> receive_index(Session& session, const TreeSyncFiles& files) {
  fs::path staged = files.work / (files.tree + "-index.zst");
  Status received = session.receive_blob_to_file(files.tree + "-index", staged);
  if (!received) return std::move(received.error());
  Result<transfer::FileSource> file = transfer::FileSource::open(staged);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource index(*file);
  return read_upper_index(index);
}

// `kept`: the changes the destination answers only with the signatures of the files they
// wrote; the signatures of those paths go, the others stay, and the new ones join them.
Status receive_signatures(Session& session, const TreeSyncFiles& files, const layers::UpperChanges* kept = nullptr,
                          const layers::UpperSnapshot* now = nullptr) {
  Result<json> applied = session.expect("applied");
  if (!applied) return std::move(applied.error());
  if (kept)
    forget_signatures(files.work / "signatures", *kept, *now);
  else
    reset_dir(files.work / "signatures");
  return session.receive_tree("signatures", files.work / "signatures.zst", files.work / "signatures");
}

// Each header carries the tree's own directory's mode and owner (layers::RootAttributes),
// as they are at that transfer: the last one, at finalsync, is what the restore sees.
Result<json> tree_header(const TreeSyncFiles& files, bool whole) {
  Result<layers::RootAttributes> root = layers::read_root_attributes(files.dir);
  if (!root) return std::move(root.error());
  return json{{"type", files.tree},
              {"whole", whole},
              {"root", {{"mode", root->mode}, {"uid", root->uid}, {"gid", root->gid}}}};
}

// A header from a peer without `root` leaves the directory as it is.
Status apply_root(PeerMessage& header, const fs::path& dir) {
  const json& fields = header.object_or_empty("root");
  if (Status read = header.status(); !read || fields.empty()) return read;
  PeerMessage root(fields, "root of " + header.what());
  constexpr uint64_t kMaxId = std::numeric_limits<uint32_t>::max();
  layers::RootAttributes attributes{static_cast<uint32_t>(root.count("mode", 07777)),
                                    static_cast<uint32_t>(root.count("uid", kMaxId)),
                                    static_cast<uint32_t>(root.count("gid", kMaxId))};
  if (Status read = root.status(); !read) return read;
  return layers::apply_root_attributes(dir, attributes);
}

// `changed_only`: signs only the files written since the tree's last signatures (the
// source keeps the others'); else all of them.
Status answer_with_signatures(Session& session, const TreeSyncFiles& files, bool changed_only) {
  reset_dir(files.work / "signatures");
  SignedStamps unkept;
  SignedStamps& stamps = files.signed_stamps ? *files.signed_stamps : unkept;
  if (!changed_only) stamps.clear();
  Result<size_t> signed_count = sign_large_files(files.dir, files.work / "signatures", stamps);
  if (!signed_count) return std::move(signed_count.error());
  spdlog::debug("{}: signed {} of {} large files", files.tree, *signed_count, stamps.size());
  Status signed_ = session.send_message({{"type", "applied"}});
  if (!signed_) return signed_;
  PhaseReport unreported;  // the source counts this blob's bytes on its side
  Progress quiet;
  return send_tree(session, "signatures", files.work / "signatures", nullptr, files.zstd_level, unreported, quiet);
}

}  // namespace

Status send_whole_tree(Session& session, const TreeSyncFiles& files, PhaseReport& phase, Progress& progress) {
  Result<json> header = tree_header(files, true);
  if (!header) return std::move(header.error());
  Status sent = session.send_message(*header);
  if (sent) sent = send_tree(session, files.tree, files.dir, nullptr, files.zstd_level, phase, progress);
  if (!sent) return sent;
  return receive_signatures(session, files);
}

// `ask_changed_signatures`: the header asks the destination to answer with the signatures
// of the files this transfer wrote only.
Status send_changes(Session& session, const TreeSyncFiles& files, layers::UpperChanges changes,
                    bool ask_changed_signatures, PhaseReport& phase, Progress& progress) {
  reset_dir(files.work / "deltas");
  Result<std::vector<DeltaEntry>> deltas =
      make_deltas(files.dir, files.work / "signatures", changes.modified, files.work / "deltas");
  if (!deltas) return std::move(deltas.error());
  std::vector<std::string> changed = changes.added;
  changed.insert(changed.end(), changes.modified.begin(), changes.modified.end());
  UpperIndex index{std::move(changes.deleted), std::move(*deltas), {}};
  Result<json> header = tree_header(files, false);
  if (!header) return std::move(header.error());
  if (ask_changed_signatures) (*header)["signatures"] = "changed";
  Status sent = session.send_message(*header);
  if (sent) sent = send_index(session, files, index, phase, progress);
  if (sent) sent = send_tree(session, files.tree + "-changes", files.dir, &changed, files.zstd_level, phase, progress);
  if (sent) sent = send_tree(session, files.tree + "-deltas", files.work / "deltas", nullptr, files.zstd_level, phase, progress);
  return sent;
}

Status send_final_changes(Session& session, const TreeSyncFiles& files, const layers::UpperSnapshot& baseline,
                          const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress) {
  return send_changes(session, files, layers::diff_snapshots(baseline, now), false, phase, progress);
}

// `now`: the scan `changes` lead to, whose signatures the destination answers with.
Status send_listed_changes(Session& session, const TreeSyncFiles& files, const layers::UpperChanges& changes,
                           const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress) {
  Status sent = send_changes(session, files, changes, files.changed_signatures_only, phase, progress);
  if (!sent) return sent;
  // An older destination answers with all its signatures all the same: they replace ours.
  return receive_signatures(session, files, files.changed_signatures_only ? &changes : nullptr, &now);
}

Status send_tree_changes(Session& session, const TreeSyncFiles& files, const layers::UpperSnapshot& baseline,
                          const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress) {
  return send_listed_changes(session, files, layers::diff_snapshots(baseline, now), now, phase, progress);
}

Status send_tree_changes_to_held(Session& session, const TreeSyncFiles& files, const layers::UpperSnapshot& held,
                                 const layers::UpperSnapshot& now, PhaseReport& phase, Progress& progress) {
  return send_listed_changes(session, files, layers::quick_check_diff(held, now), now, phase, progress);
}

Status offer_held_tree(Session& session, const TreeSyncFiles& files) {
  Result<layers::UpperSnapshot> held = layers::scan_upper_dir(files.dir);
  if (!held) return std::move(held.error());
  Status sent = session.send_message({{"type", files.tree + "-held"}, {"entries", held->entries.size()}});
  PhaseReport unreported;  // the source counts these blobs' bytes on its side
  Progress quiet;
  UpperIndex listing{{}, {}, listing_of(*held)};
  if (sent)
    sent = session.send_stream(files.tree + "-listing", unreported, quiet, files.zstd_level,
                               [&](transfer::ByteSink& sink) { return write_upper_index(listing, sink); });
  if (!sent) return sent;
  reset_dir(files.work / "signatures");
  SignedStamps unkept;
  SignedStamps& stamps = files.signed_stamps ? *files.signed_stamps : unkept;
  stamps.clear();
  Result<size_t> signed_count = sign_large_files(files.dir, files.work / "signatures", stamps);
  if (!signed_count) return std::move(signed_count.error());
  spdlog::debug("{}: offered {} entries held here, {} large files signed", files.tree, held->entries.size(),
                *signed_count);
  return send_tree(session, "signatures", files.work / "signatures", nullptr, files.zstd_level, unreported, quiet);
}

Result<layers::UpperSnapshot> receive_held_tree(Session& session, const TreeSyncFiles& files) {
  Result<json> held = session.expect(files.tree + "-held");
  if (!held) return std::move(held.error());
  reset_dir(files.work / "signatures");  // makes files.work too: nothing was sent of this tree yet
  fs::path staged = files.work / (files.tree + "-listing.zst");
  Status received = session.receive_blob_to_file(files.tree + "-listing", staged);
  if (!received) return std::move(received.error());
  Result<transfer::FileSource> file = transfer::FileSource::open(staged);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource stream(*file);
  Result<UpperIndex> listing = read_upper_index(stream);
  if (!listing) return std::move(listing.error()).wrap("reading the destination's listing of its " + files.tree);
  received = session.receive_tree("signatures", files.work / "signatures.zst", files.work / "signatures");
  if (!received) return std::move(received.error());
  return std::move(listing->listed);
}

Status receive_synced_tree(Session& session, const TreeSyncFiles& files, bool then_sign) {
  Result<json> header = session.expect(files.tree);
  if (!header) return std::move(header.error());
  PeerMessage fields(*header);
  bool whole = fields.boolean_or("whole", false);
  bool changed_signatures = !whole && fields.string_or("signatures", "all") == "changed";
  if (Status read = fields.status(); !read) return read;
  Status applied;
  if (whole) {
    applied = session.receive_tree(files.tree, files.work / (files.tree + ".zst"), files.dir);
  } else {
    Result<UpperIndex> index = receive_index(session, files);
    if (!index) return std::move(index.error());
    Status received = session.receive_blob_to_file(files.tree + "-changes", files.work / (files.tree + "-changes.zst"));
    if (received) received = session.receive_blob_to_file(files.tree + "-deltas", files.work / (files.tree + "-deltas.zst"));
    if (!received) return received;
    // All three blobs are verified; apply deletions first (a path may come back changed).
    reset_dir(files.work / "deltas");
    applied = layers::remove_paths(files.dir, index->deleted);
    if (applied) applied = extract_blob(files.work / (files.tree + "-changes.zst"), files.dir);
    if (applied) applied = extract_blob(files.work / (files.tree + "-deltas.zst"), files.work / "deltas");
    if (applied) applied = apply_deltas(files.dir, files.work / "deltas", index->deltas);
  }
  if (applied) applied = apply_root(fields, files.dir);
  if (!applied || !then_sign) return applied;
  return answer_with_signatures(session, files, changed_signatures && files.signed_stamps);
}

}  // namespace dockmig::migrate
