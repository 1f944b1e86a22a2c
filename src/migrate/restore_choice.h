// --restore auto: whether a lazy restore pays for a checkpoint. The source asks for lazy
// with a threshold; the destination, which holds the assembled page images, picks eager
// when they are smaller: there the lazy-pages daemon's start and the wait for its fill
// cost more than the eager restore they save (docs/design.md, "Lazy restore").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dockmig/migration.h"

namespace dockmig::migrate {

/// From this much memory in the checkpoint's page images on, auto restores lazily: the
/// smallest size measured to pay on the bed (256 MiB: restore phase 1.9-2.3 s lazy against
/// 2.9-4.3 s eager, downtime 7.7-8.5 s against 9.6-11.4 s; docs/design.md, "Lazy
/// restore"). Smaller checkpoints stay eager until a measurement says lazy pays there too.
inline constexpr uint64_t kLazyRestoreMinBytes = uint64_t{256} << 20;

struct RestoreChoice {
  RestoreMode mode = RestoreMode::Eager;
  std::string why;  // for the report: "the checkpoint's memory (3.1 MiB) is below ..."
};

/// Lazy when `image_bytes` reach `min_bytes`, else eager.
RestoreChoice choose_restore(uint64_t image_bytes, uint64_t min_bytes);

/// The bytes of the page images (pages-*.img) in a checkpoint dir, links followed.
uint64_t page_image_bytes(const std::filesystem::path& images_dir);

}  // namespace dockmig::migrate
