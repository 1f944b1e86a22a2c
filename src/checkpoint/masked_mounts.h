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

#include <optional>
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

/// What the source's own rule allows for the container whose first process is `pid`: its
/// empty masks, or none and why (it has none; it may remount them: CAP_SYS_ADMIN in its
/// bounding set, they would share the host's tmpfs; CRIU runs in another mount namespace
/// than this process: the host's tmpfs would not be there for the source's own resume; the
/// host's tmpfs cannot be mounted). Each refusal only costs the tar.
struct LendableMasks {
  std::vector<std::string> dirs;  // empty when none may be lent
  std::string refusal;            // why none, when dirs is empty
};
LendableMasks lendable_masks(int pid);

/// Why this process could not map the masks' key for a restore that the dockerd with pid
/// `dockerd` runs, or empty when it can: CRIU runs in the mount namespace of the shim that
/// dockerd's containerd starts, which must be this process's for the host's tmpfs to be
/// where CRIU looks (an agent in a container of its own is not), and the tmpfs must mount.
std::string restore_mask_refusal(int dockerd);

/// How a dump treats the masks: as external mounts (`dirs`) or archived by CRIU, and why,
/// in one line for the log and the report.
struct MaskLending {
  std::vector<std::string> dirs;  // empty: archived
  std::string reason;
};

/// The dump lends the masks only when the source's rule allows it and the destination said
/// it can map the key (`destination_maps`; nullopt from a destination older than that
/// answer, which counts as cannot). `destination_refusal` is its reason when it cannot.
MaskLending choose_mask_lending(const LendableMasks& source, std::optional<bool> destination_maps,
                                const std::string& destination_refusal);

/// The restore's line; mounts the host's tmpfs first if it is not there. Empty (with a
/// warning) when it cannot be mounted: a checkpoint that used the key then fails to restore
/// with CRIU's "No mapping for ... mountpoint".
std::string masked_restore_lines();

}  // namespace dockmig::checkpoint
