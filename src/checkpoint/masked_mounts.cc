#include "checkpoint/masked_mounts.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/proc_status.h"
#include "base/text_file.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;
constexpr int kCapSysAdmin = 21;

// A process that has ended reads as no text: nothing to mask, nothing to allow.
std::string read_proc_text(const std::string& path) {
  Result<std::string> text = base::read_text_file(path);
  return text ? std::move(*text) : std::string();
}

bool has_option(const std::string& options, const std::string& option) {
  return ("," + options + ",").find("," + option + ",") != std::string::npos;
}

bool is_mask(const MountInfoEntry& mount) {
  bool under_proc_or_sys = mount.mountpoint.starts_with("/proc/") || mount.mountpoint.starts_with("/sys/");
  return mount.fstype == "tmpfs" && mount.root == "/" && under_proc_or_sys && has_option(mount.options, "ro");
}

bool has_mount_below(const std::vector<MountInfoEntry>& mounts, const std::string& dir) {
  for (const MountInfoEntry& mount : mounts)
    if (mount.mountpoint.starts_with(dir + "/")) return true;
  return false;
}

// The masks would be bind mounts of one tmpfs of the host's: a container that may
// remount them could make it writable for the others.
bool may_remount(int pid) {
  std::string status = read_proc_text("/proc/" + std::to_string(pid) + "/status");
  return base::proc_status_has_capability(status, "CapBnd", kCapSysAdmin).value_or(true);
}

long parent_pid(int pid) {
  std::string status = read_proc_text("/proc/" + std::to_string(pid) + "/status");
  return base::proc_status_number(status, "PPid").value_or(0);
}

bool is_empty_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec) && !ec;
}

bool mask_source_mounted() {
  for (const MountInfoEntry& mount : parse_mountinfo(read_proc_text("/proc/self/mountinfo")))
    if (mount.mountpoint == kMaskSource && mount.fstype == "tmpfs" && has_option(mount.options, "ro")) return true;
  return false;
}

// Read-only from the start, so that nothing can ever be written into it.
bool ensure_mask_source() {
  if (mask_source_mounted()) return true;
  std::error_code ec;
  fs::create_directories(kMaskSource, ec);
  if (ec) {
    spdlog::warn("cannot create {} (runc's masked dirs are archived by CRIU instead): {}", kMaskSource, ec.message());
    return false;
  }
  if (::mount("dockmig-masked", kMaskSource, "tmpfs", MS_RDONLY, "size=4k,mode=555") != 0) {
    spdlog::warn("cannot mount an empty tmpfs on {} (runc's masked dirs are archived by CRIU instead): {}", kMaskSource,
                 std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

std::vector<MountInfoEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountInfoEntry> mounts;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, field;
    MountInfoEntry mount;
    if (!(fields >> id >> parent >> device >> mount.root >> mount.mountpoint >> mount.options)) continue;
    while (fields >> field && field != "-") {}  // optional fields
    if (field != "-" || !(fields >> mount.fstype)) continue;
    if (mount.mountpoint.find('\\') != std::string::npos || mount.root.find('\\') != std::string::npos) continue;
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

std::vector<std::string> masked_dir_mounts(const std::vector<MountInfoEntry>& mounts) {
  std::vector<std::string> dirs;
  for (const MountInfoEntry& mount : mounts)
    if (is_mask(mount) && !has_mount_below(mounts, mount.mountpoint)) dirs.push_back(mount.mountpoint);
  return dirs;
}

std::string masked_dump_lines(const std::vector<std::string>& dirs) {
  std::string lines;
  for (const std::string& dir : dirs) lines += "external mnt[" + dir + "]:" + kMaskKey + "\n";
  return lines;
}

// The container's first process is a child of its shim, which runs runc and so CRIU.
LendableMasks lendable_masks(int pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  std::vector<std::string> dirs;
  for (const std::string& dir : masked_dir_mounts(parse_mountinfo(read_proc_text(proc + "/mountinfo"))))
    if (is_empty_dir(proc + "/root" + dir)) dirs.push_back(dir);
  if (dirs.empty()) return {{}, "the container has no empty masked dirs"};
  if (may_remount(pid)) return {{}, "the container may remount its masked dirs (CAP_SYS_ADMIN)"};
  if (!base::shares_our_namespace(static_cast<pid_t>(parent_pid(pid)), "mnt"))
    return {{}, "the container's shim is in another mount namespace than the source's dockmig"};
  if (!ensure_mask_source()) return {{}, std::string("the source cannot mount its empty tmpfs on ") + kMaskSource};
  return {std::move(dirs), ""};
}

// dockerd's containerd starts the shims; in every set-up Docker documents the three share
// the host's mount namespace, and the shim itself does not exist before the restore.
std::string restore_mask_refusal(int dockerd) {
  if (dockerd <= 0 || !base::shares_our_namespace(dockerd, "mnt"))
    return "its dockmig is in another mount namespace than its dockerd (an agent in a container)";
  if (!ensure_mask_source()) return std::string("it cannot mount its empty tmpfs on ") + kMaskSource;
  return "";
}

MaskLending choose_mask_lending(const LendableMasks& source, std::optional<bool> destination_maps,
                                const std::string& destination_refusal) {
  const std::string archived = "runc's masked dirs archived by CRIU: ";
  if (source.dirs.empty()) return {{}, archived + source.refusal};
  if (!destination_maps)
    return {{}, archived + "the destination's dockmig does not say whether it can map their key (an older one)"};
  if (!*destination_maps)
    return {{}, archived + "the destination cannot map their key: " +
                    (destination_refusal.empty() ? "it gave no reason" : destination_refusal)};
  std::string dirs;
  for (const std::string& dir : source.dirs) dirs += (dirs.empty() ? "" : ", ") + dir;
  return {source.dirs, "runc's masked dirs (" + dirs + ") lent to CRIU as external mounts: both ends map their key"};
}

std::string masked_restore_lines() {
  if (!ensure_mask_source()) return "";
  return std::string("external mnt[") + kMaskKey + "]:" + kMaskSource + "\n";
}

}  // namespace dockmig::checkpoint
