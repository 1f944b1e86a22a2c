#include "migrate/destination_preflight.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "base/byte_units.h"
#include "base/json_fields.h"

namespace dockmig::migrate {
namespace {

// The nearest dir of `dir`'s path that exists: staging dirs are made only later.
std::filesystem::path existing_ancestor(std::filesystem::path dir) {
  std::error_code ec;
  while (!dir.empty() && !std::filesystem::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  return dir.empty() ? std::filesystem::path("/") : dir;
}

// MemAvailable of /proc/meminfo, in bytes.
std::optional<uint64_t> host_memory_available() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kib) == 1) return uint64_t{kib} << 10;
  }
  return std::nullopt;
}

struct FileSystem {
  std::filesystem::path first_dir;  // as named in errors
  uint64_t needed = 0;
  uint64_t available = 0;
};

}  // namespace

Status check_bind_sources(const nlohmann::json& create) {
  auto host = create.is_object() ? create.find("HostConfig") : create.end();
  if (host == create.end() || !host->is_object()) return {};
  auto mounts = host->find("Mounts");
  if (mounts == host->end() || !mounts->is_array()) return {};
  for (const nlohmann::json& mount : *mounts) {
    if (string_field(mount, "Type") != "bind") continue;
    std::string source = string_field(mount, "Source");
    std::error_code ec;
    if (std::filesystem::exists(source, ec)) continue;
    return make_error(ErrorCode::InvalidInput,
                      "the destination has no `" + source + "` for the bind mount at `" + string_field(mount, "Target") + "`",
                      "create it on the destination first, or map the source's path elsewhere with --bind-map SRC=DST");
  }
  return {};
}

Status check_criu_versions(const checkpoint::CriuVersion& here, const std::string& source) {
  if (!here.at_least(checkpoint::kMinCriuMajor, checkpoint::kMinCriuMinor))
    return make_error(ErrorCode::Unsupported,
                      "the destination's CRIU is " + here.text + "; dockmig needs " +
                          std::to_string(checkpoint::kMinCriuMajor) + "." +
                          std::to_string(checkpoint::kMinCriuMinor) + " or newer",
                      "run tools/setup.sh on the destination, or give its agent --criu PATH");
  if (source.empty()) return {};
  Result<checkpoint::CriuVersion> theirs = checkpoint::parse_criu_version("Version: " + source);
  if (!theirs) return make_error(ErrorCode::InvalidInput, "the source's CRIU version `" + source + "` is malformed");
  if (!here.at_least(theirs->major, theirs->minor))
    return make_error(ErrorCode::Unsupported,
                      "the destination's CRIU " + here.text + " is older than the source's " + theirs->text +
                          ", whose images it may not read",
                      "install CRIU " + theirs->text + " or newer on the destination");
  return {};
}

Status CriuReadiness::check(const std::string& source_version) {
  std::lock_guard lock(mutex_);
  Result<checkpoint::CriuVersion> version = passing_version();
  if (!version) {
    // Not the user's input: a host to fix, and the source runs on meanwhile.
    Error error = std::move(version.error()).wrap("the destination cannot restore a checkpoint");
    error.code = ErrorCode::Unsupported;
    return error;
  }
  return check_criu_versions(*version, source_version);
}

Result<checkpoint::CriuVersion> CriuReadiness::passing_version() {
  auto now = std::chrono::steady_clock::now();
  if (passed_ && now - passed_at_ < kTrustFor) return *passed_;
  passed_.reset();
  Result<checkpoint::Criu> criu = checkpoint::Criu::find(binary_);
  if (!criu) return std::move(criu.error());
  Result<checkpoint::CriuCheck> checked = criu->check();
  if (!checked) return std::move(checked.error());
  if (!checked->passed)
    return make_error(ErrorCode::Unsupported, "`" + criu->path() + " check` fails: " + checked->last_lines(3),
                      "run `dockmig doctor` on the destination");
  Result<checkpoint::CriuVersion> version = criu->version();
  if (!version) return std::move(version.error());
  passed_ = *version;
  passed_at_ = now;
  return *version;
}

Status check_free_space(const std::vector<SpaceNeed>& needs) {
  std::map<dev_t, FileSystem> file_systems;
  for (const SpaceNeed& need : needs) {
    std::filesystem::path dir = existing_ancestor(need.dir);
    struct stat where {};
    struct statvfs room {};
    if (stat(dir.c_str(), &where) != 0 || statvfs(dir.c_str(), &room) != 0)
      return make_error(ErrorCode::Io, "cannot read the free space of `" + dir.string() + "`");
    auto [entry, fresh] = file_systems.try_emplace(where.st_dev);
    if (fresh) entry->second = {need.dir, 0, static_cast<uint64_t>(room.f_bavail) * room.f_frsize};
    entry->second.needed += need.bytes;
  }
  for (const auto& [device, fs] : file_systems) {
    if (fs.needed + kSpareBytes <= fs.available) continue;
    return make_error(ErrorCode::Io,
                      "the destination has " + base::human_bytes(fs.available) + " free on the file system of `" +
                          fs.first_dir.string() + "`; this migration needs " +
                          (fs.needed ? "about " + base::human_bytes(fs.needed) : std::string("almost nothing")) +
                          " there, and dockmig keeps " + base::human_bytes(kSpareBytes) + " spare",
                      "free space on the destination, or migrate to another host");
  }
  return {};
}

std::filesystem::path memory_staging_root(const std::filesystem::path& root, const std::filesystem::path& state_dir) {
  std::string name = "dockmig";
  for (const auto& part : std::filesystem::absolute(state_dir).lexically_normal().relative_path())
    if (!part.empty()) name += "-" + part.string();
  return root / name;
}

uint64_t free_bytes_near(const std::filesystem::path& dir) {
  struct statvfs room {};
  if (statvfs(existing_ancestor(dir).c_str(), &room) != 0) return 0;
  return static_cast<uint64_t>(room.f_bavail) * room.f_frsize;
}

bool memory_staging_fits(uint64_t memory_bytes, uint64_t fs_free, uint64_t host_available) {
  uint64_t staged = (kMemoryStagingCopies - 1) * memory_bytes;
  return staged + kSpareBytes <= fs_free && kMemoryStagingCopies * memory_bytes + kSpareBytes <= host_available;
}

std::filesystem::path choose_memory_staging(const std::filesystem::path& fast, const std::filesystem::path& fallback,
                                            uint64_t memory_bytes) {
  if (fast.empty()) return fallback;
  std::optional<uint64_t> available = host_memory_available();
  if (!available) return fallback;
  return memory_staging_fits(memory_bytes, free_bytes_near(fast), *available) ? fast : fallback;
}

}  // namespace dockmig::migrate
