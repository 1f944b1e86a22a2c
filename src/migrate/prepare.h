// Warming a destination before a handoff that is likely soon (Ma et al.'s S1/S2: layers
// and state synced ahead of the request): the destination fetches the image from its
// cache or registry (or the source sends it), and for a container it receives a presync
// of the writable layer, kept aside until the handoff. A later run_migration of the same
// container to the same destination, in this process or one sharing its state dir
// (warm_store), then sends only what changed since, and its report says how much the
// preparation saved.
#pragma once

#include <cstdint>
#include <string>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "migrate/progress.h"

namespace dockmig::migrate {

struct PrepareRequest {
  std::string destination;  // ADDR:PORT of the destination agent
  std::string docker;       // the local dockerd's socket
  std::string image;        // an image reference to warm, or
  std::string container;    // a container whose image and writable layer to warm
  TransportSecurity security;  // for the link to the destination agent
};

struct PrepareReport {
  std::string image_source;  // cache | registry | peer
  uint64_t wire_bytes = 0;
  uint64_t raw_bytes = 0;
  double seconds = 0;
};

/// Warms the destination; safe to repeat (a newer preparation replaces an older one).
Result<PrepareReport> prepare_destination(const PrepareRequest& request, Progress& progress);

}  // namespace dockmig::migrate
