// Where a container's writable layer is on disk: overlay2's UpperDir, or with the
// containerd image store the upper directory of containerd's snapshot of the container.
#pragma once

#include <string>
#include <string_view>

#include "docker/container_info.h"
#include "docker/engine_client.h"
#include "dockmig/result.h"

namespace dockmig::docker {

/// Whether dockmig can move the writable layer of a container that `driver` (GraphDriver
/// Name) stores: overlay2, or containerd's overlayfs snapshotter.
bool is_supported_storage_driver(std::string_view driver);

/// Whether this host can find its containers' writable layers: with the containerd image
/// store it needs containerd's `ctr` on PATH. Checked before anything is made.
Status check_writable_layer_access(const DaemonInfo& daemon);

/// The directory of `container`'s writable layer on this host (`daemon` is the host's
/// dockerd). With the containerd image store the layer is containerd's active snapshot
/// keyed by the container's id, and its directory comes from containerd's snapshot
/// service (`ctr snapshots mounts`), the same answer containerd gives runc.
Result<std::string> writable_layer_dir(const DaemonInfo& daemon, const ContainerInfo& container);

/// The writable directory of the mount that `ctr snapshots mounts` prints for an active
/// snapshot: the upperdir of an overlay mount, or the source of a bind mount (a snapshot
/// without parents); "" when `ctr_output` has neither.
std::string writable_dir_of_mount(std::string_view ctr_output);

}  // namespace dockmig::docker
