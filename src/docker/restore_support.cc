// Which Docker releases can restore which containers from a checkpoint, measured on the
// test bed (docs/design.md, "Docker releases").
#include "docker/restore_support.h"

#include <charconv>

namespace dockmig::docker {
namespace {

// Docker 27 and newer hand a container's network namespace to libnetwork right after
// containerd creates its task, from /proc/<task pid>/ns/net (moby 933fcc9814, which
// dropped the prestart hook). A task created from a checkpoint has no process until it
// starts (pid 0), so every such restore fails with `bind-mount /proc/0/ns/net`
// (containerd/containerd#12141). dockerd skips that step for a container without
// networking only. Such a container restores there from a checkpoint of Docker 27 or
// newer, but not from one of 20.10 or 26.1: CRIU finds no mapping for one of the mounts
// that their runc 1.1 dumped as external (`mnt: No mapping for N:(null) mountpoint`) when
// runc 1.3 restores it. Docker 26.1 (runc 1.1.15) restores both kinds from 20.10, 26.1
// and 28.5 alike.
constexpr int kFirstReleaseWithoutNetworkedRestore = 27;

bool restores_without_network_only(std::optional<int> major) {
  return major && *major >= kFirstReleaseWithoutNetworkedRestore;
}

bool networking_disabled(const nlohmann::json& create_request) {
  auto disabled = create_request.find("NetworkDisabled");
  return disabled != create_request.end() && disabled->is_boolean() && disabled->get<bool>();
}

}  // namespace

std::optional<int> engine_major_version(std::string_view server_version) {
  int major = 0;
  auto [end, ec] = std::from_chars(server_version.data(), server_version.data() + server_version.size(), major);
  if (ec != std::errc() || end == server_version.data()) return std::nullopt;
  return major;
}

std::string restore_blocker(std::string_view destination, std::string_view source,
                            const nlohmann::json& create_request) {
  if (!restores_without_network_only(engine_major_version(destination))) return "";
  std::string here = "the destination's dockerd is Docker " + std::string(destination);
  if (!networking_disabled(create_request))
    return here + ", which cannot restore a checkpoint into a container with a network: since Docker 27 it "
                  "takes the container's network namespace from a process the restore has not made yet "
                  "(`bind-mount /proc/0/ns/net`, containerd/containerd#12141)";
  if (!restores_without_network_only(engine_major_version(source)))
    return here + ", whose runc cannot restore a checkpoint made by the source's Docker " +
           (source.empty() ? std::string("(it did not say which)") : std::string(source)) +
           " (CRIU finds no mapping for one of its external mounts)";
  return "";
}

}  // namespace dockmig::docker
