#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/container_info.h"
#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "migrate/mounts.h"
#include "migrate/networks.h"

namespace dockmig::migrate {

struct ImageLayer {
  std::string digest;  // the layer's diff id (sha256 of its uncompressed tar)
  uint64_t bytes = 0;
};

/// What moves and what does not, and why: `dockmig inspect` and a migration's first step.
struct MigrationPlan {
  docker::ContainerInfo container;
  std::string docker_root;           // the source daemon's DockerRootDir
  std::string docker_version;        // the source daemon's ServerVersion, e.g. 28.5.2+dfsg4
  std::vector<ImageLayer> image_layers;
  std::vector<std::string> image_repo_digests;  // "name@sha256:…": registry copies of exactly this image
  uint64_t image_bytes = 0;
  uint64_t upper_bytes = 0;
  uint64_t upper_files = 0;
  std::vector<MovedVolume> volumes;  // local volumes, whose data moves like the writable layer
  std::vector<AttachedVolume> attached_volumes;  // reached from the destination too: nothing copied
  std::vector<BindMapping> bind_map; // the bind mounts that move, to their destination paths
  std::vector<std::string> copy_binds;     // bind-mounted directories asked to be copied (--copy-bind)
  std::vector<MovedVolume> copied_binds;   // those of them that move: copied like the volumes
  std::vector<std::string> tmpfs;    // where its tmpfs mounts are: their content rides in the checkpoint
  std::vector<NetworkSpec> networks; // its user-defined networks, joined at the destination
  std::vector<docker::PublishedPort> ports;  // published again at the destination
  uint64_t memory_bytes = 0;         // resident memory: what the checkpoint will carry
  uint64_t processes = 0;            // from Docker's stats; 0 when it does not say
  std::vector<std::string> blockers; // why it cannot move now; empty when it can
};

/// The most processes a container may run to be moved: CRIU writes a page image for each,
/// and the list of them after the freeze must fit one protocol message.
inline constexpr uint64_t kMaxProcesses = 16384;

/// Why a container running `processes` cannot be moved, or "" when it can.
std::string process_count_blocker(uint64_t processes);

/// Reads the container and its image through the Engine API and sizes its writable layer
/// and volumes; a bind mount is movable only when `bind_map` maps it or `copy_binds` names
/// its directory, and a container keeps its TCP connections (`tcp`) only with addresses
/// the destination can give again.
Result<MigrationPlan> make_plan(const docker::EngineClient& engine, const std::string& container,
                                const std::vector<BindMapping>& bind_map = {}, TcpMode tcp = TcpMode::Close,
                                const std::vector<std::string>& copy_binds = {});

/// Where the container's tmpfs mounts are, from `--mount type=tmpfs` (Mounts) and `--tmpfs`
/// (HostConfig.Tmpfs, which Mounts leaves out), each once.
std::vector<std::string> tmpfs_targets(const docker::ContainerInfo& container);

/// The bytes of all the plan's volumes and copied bind mounts.
uint64_t volume_bytes(const MigrationPlan& plan);

/// The trees that cross like the writable layer: the volumes, then the copied bind mounts.
std::vector<MovedVolume> synced_trees(const MigrationPlan& plan);

nlohmann::json to_json(const MigrationPlan& plan);
std::string to_text(const MigrationPlan& plan);

/// The image's RootFS.Layers (diff ids, the digests of its uncompressed layers): what a
/// destination compares when its image store names the same image by another id.
std::vector<std::string> image_layer_digests(const MigrationPlan& plan);

}  // namespace dockmig::migrate
