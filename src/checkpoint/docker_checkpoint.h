#pragma once

#include <filesystem>
#include <string>

#include "docker/engine_client.h"
#include "dockmig/result.h"

namespace dockmig::checkpoint {

/// Where dockerd keeps (and looks for) a container's checkpoint images. Docker refuses
/// --checkpoint-dir on restore, so migrated images must be placed exactly here.
std::filesystem::path checkpoint_dir(const std::string& docker_root, const std::string& container_id,
                                     const std::string& name);

/// CRIU-dumps a running container through dockerd; the container stops once dumped.
/// Failures carry the error lines of CRIU's log.
Status checkpoint_container(const docker::EngineClient& engine, const std::string& container_id,
                            const std::string& name);

/// Starts a container from checkpoint `name` in its own checkpoints dir.
Status restore_container(const docker::EngineClient& engine, const std::string& docker_root,
                         const std::string& container_id, const std::string& name);

/// The lines of a CRIU log that say what went wrong, found through the log path that
/// dockerd's error message names.
std::string criu_log_excerpt(const std::string& daemon_message);

}  // namespace dockmig::checkpoint
