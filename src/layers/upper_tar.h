// An overlay2 upper (writable) directory as a tar stream, and back. overlay2's own marks
// travel as they are: a whiteout is a 0:0 character device, an opaque directory carries
// the trusted.overlay.opaque xattr, so the destination's overlay mount sees the same tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dockmig/result.h"
#include "transfer/byte_stream.h"

namespace dockmig::layers {

/// Writes `dir` as a pax tar into `out` (and finishes `out`): regular files, directories,
/// symlinks, hard links (as links), device nodes and fifos, with mode, owner, mtime and
/// xattrs. With `paths`, only those entries (paths relative to `dir`; directories not
/// recursed), in an order where parents come first; a path that vanished is skipped.
Status write_upper_tar(const std::filesystem::path& dir, const std::vector<std::string>* paths,
                       transfer::ByteSink& out);

struct ExtractStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

/// Extracts a tar stream into `dir` (created if missing), with owners, modes, xattrs and
/// device nodes, replacing what is there. An entry with an absolute path, a `..`
/// component or a path through a symlink is refused by name, and nothing is written
/// outside `dir`.
Result<ExtractStats> extract_tar(transfer::ByteSource& in, const std::filesystem::path& dir);

/// A tree's own directory: a tar of its contents does not carry its permission bits and
/// owner, yet a service can depend on them (PostgreSQL's data directory, a volume's root,
/// is 0700 and owned by postgres; CRIU refuses to restore a process whose cwd there
/// changed mode: "has bad mode 040755 (expect 040700)").
struct RootAttributes {
  uint32_t mode = 0;  // permission bits, setuid/setgid/sticky included (07777)
  uint32_t uid = 0, gid = 0;
};
Result<RootAttributes> read_root_attributes(const std::filesystem::path& dir);
Status apply_root_attributes(const std::filesystem::path& dir, const RootAttributes& attributes);

/// Removes each relative path under `dir` (recursively); missing ones are fine. A path
/// that is absolute or climbs out with `..` is an error.
Status remove_paths(const std::filesystem::path& dir, const std::vector<std::string>& paths);

}  // namespace dockmig::layers
