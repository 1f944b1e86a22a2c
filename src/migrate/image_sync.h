// The image phase, shared by a migration and a preparation: the destination takes the
// image from its cache, else pulls it from the image's own registry, else asks the source
// to send it (the peer path: `docker save` streamed, `docker load` at the destination).
#pragma once

#include <filesystem>
#include <string>

#include "docker/engine_client.h"
#include "dockmig/migration.h"
#include "migrate/progress.h"
#include "migrate/session.h"

namespace dockmig::migrate {

/// Source: reads the destination's "image" answer and sends the image if it asks.
/// Returns where the image came from: cache, registry or peer.
Result<std::string> supply_image(Session& session, const docker::EngineClient& engine, const std::string& image,
                                 PhaseReport& phase, Progress& progress, int zstd_level);

/// Destination: makes sure `image` is here, and when `image_id` is given, that it names
/// that image (a tag may have moved since the source's container was made: a checkpoint
/// restored on other lower layers would run on files it never saw), telling the source
/// where it came from. An image that still differs after the registry's and the source's
/// copies is refused, before anything is frozen.
Status fetch_image(Session& session, const docker::EngineClient& engine, const std::string& image,
                   const std::filesystem::path& staging, const std::string& image_id = {});

}  // namespace dockmig::migrate
