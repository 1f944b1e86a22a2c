// The image phase, shared by a migration and a preparation: the destination takes the
// image from its cache, else pulls it from the image's own registry (by its tag, then by
// its digests), else asks the source to send it (the peer path: `docker save` streamed,
// `docker load` at the destination).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "migrate/peer_message.h"
#include "migrate/progress.h"
#include "migrate/session.h"

namespace dockmig::migrate {

/// Source: reads the destination's "image" answer and sends the image if it asks.
/// Returns where the image came from: cache, registry or peer. `destination_attaches`, when
/// given, is set to whether the destination makes attached volumes (attached_volumes.h).
Result<std::string> supply_image(Session& session, const docker::EngineClient& engine, const std::string& image,
                                 PhaseReport& phase, Progress& progress, int zstd_level,
                                 bool* destination_attaches = nullptr);

/// What a destination is asked for: the image a source's container runs.
struct WantedImage {
  std::string reference;                  // as the container names it (Config.Image)
  std::string id;                         // "sha256:…"; "" from a source that does not say
  std::vector<std::string> repo_digests;  // "name@sha256:…": registry copies of exactly `id`
  /// RootFS.Layers, "sha256:…" each; "" from a source that does not say. An image with
  /// these layers is the wanted one though its id differs: overlay2 names an image by its
  /// config's digest, the containerd image store by its manifest's (or index's).
  std::vector<std::string> layers;
};

/// The wanted image of a `prepare` or `warm` message: "image", "image_id" (optional),
/// "repo_digests" and "image_layers" (optional), type-checked; a repo digest must be
/// NAME@sha256:DIGEST.
Result<WantedImage> read_wanted_image(PeerMessage& fields);

/// Destination: makes sure the wanted image is here, and when its id is given, that the
/// image used is that one (a tag may have moved since the source's container was made: a
/// checkpoint restored on other lower layers would run on files it never saw), telling the
/// source where it came from. Tries the cache, a pull by the reference, a pull by each
/// repo digest, then the source's copy; an image that still differs is refused, before
/// anything is frozen. Returns the reference that names exactly that image here, for the
/// container's create: the container's own reference when it does, else a repo digest or
/// the id.
Result<std::string> fetch_image(Session& session, const docker::EngineClient& engine, const WantedImage& wanted,
                                const std::filesystem::path& staging);

}  // namespace dockmig::migrate
