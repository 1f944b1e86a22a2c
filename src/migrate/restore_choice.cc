#include "migrate/restore_choice.h"

#include <system_error>

#include "base/byte_units.h"
#include "migrate/memory_sync.h"

namespace dockmig::migrate {

RestoreChoice choose_restore(uint64_t image_bytes, uint64_t min_bytes) {
  std::string sizes = "the checkpoint's memory (" + base::human_bytes(image_bytes) + ") ";
  std::string limit = "the " + base::human_bytes(min_bytes) + " from which a lazy restore pays";
  if (image_bytes >= min_bytes) return {RestoreMode::Lazy, sizes + "reaches " + limit};
  return {RestoreMode::Eager, sizes + "is below " + limit};
}

uint64_t page_image_bytes(const std::filesystem::path& images_dir) {
  uint64_t total = 0;
  for (const std::string& name : page_images(images_dir)) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(images_dir / name, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace dockmig::migrate
