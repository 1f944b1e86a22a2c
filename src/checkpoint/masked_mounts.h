// runc masks directories such as /proc/acpi and /sys/firmware with an empty read-only
// tmpfs each, and CRIU archives every tmpfs with `tar --gzip` (a fork and two execs: about
// 35 ms a mount at dump, while the container is frozen, and 17-30 ms at restore). runc
// makes masked files external mounts but skips the directories. For them dockmig lends
// CRIU `external mnt[DIR]:KEY` lines at dump and `external mnt[KEY]:SOURCE` at restore,
// SOURCE the root of an empty read-only tmpfs of the host's own: CRIU neither tars nor
// untars them. After such a restore the masks are bind mounts of that tmpfs: still empty
// and read-only, and a later dump without dockmig still works (CRIU finds a tmpfs root and
// archives it once, as before).
#pragma once

#include <string>
#include <vector>

namespace dockmig::checkpoint {

/// The key a dump records for the masks, and the host's empty tmpfs a restore mounts there.
inline constexpr const char* kMaskKey = "dockmig-masked-empty";
inline constexpr const char* kMaskSource = "/run/dockmig-masked-empty";

struct MountInfoEntry {
  std::string root;        // the path inside its file system that is mounted
  std::string mountpoint;  // as the reading process's root sees it
  std::string options;     // the mount's own options (ro, nosuid...)
  std::string fstype;
};

/// Parses /proc/PID/mountinfo; lines it cannot read (and escaped paths) are left out.
std::vector<MountInfoEntry> parse_mountinfo(const std::string& text);

/// The mountpoints that look like runc's masks of a directory: the root of a read-only
/// tmpfs under /proc or /sys, with nothing mounted below it.
std::vector<std::string> masked_dir_mounts(const std::vector<MountInfoEntry>& mounts);

/// The dump's lines for `dirs` (empty for none).
std::string masked_dump_lines(const std::vector<std::string>& dirs);

/// The dump's lines for the container whose first process is `pid`: none when it has no
/// empty masks, when it may remount them (CAP_SYS_ADMIN in its bounding set: they would
/// share the host's tmpfs), when CRIU runs in another mount namespace than this process
/// (the host's tmpfs would not be there for the source's own resume) or when the host's
/// tmpfs cannot be mounted. Each of these only costs the tar.
std::string masked_dump_lines_for(int pid);

/// The restore's line; mounts the host's tmpfs first if it is not there. Empty (with a
/// warning) when it cannot be mounted: a checkpoint that used the key then fails to restore
/// with CRIU's "No mapping for ... mountpoint".
std::string masked_restore_lines();

}  // namespace dockmig::checkpoint
