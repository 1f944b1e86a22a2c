#include "checkpoint/pagemap_image.h"

#include <span>

#include "base/text_file.h"
#include "checkpoint/protobuf_reader.h"

namespace dockmig::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImageCommonMagic = 0x54564319;
constexpr uint32_t kPagemapMagic = 0x56084025;
constexpr uint64_t kMaxEntryPages = uint64_t{1} << 36;  // 256 TiB: past any address space
constexpr uint64_t kMaxImagePages = uint64_t{1} << 32;  // 16 TiB in one pages image

enum EntryField { kVaddr = 1, kCompatPages = 2, kInParent = 3, kFlags = 4, kPages = 5 };

Result<PagemapEntry> parse_entry(std::span<const std::byte> message) {
  protobuf::IntegerFields fields;
  if (Status read = protobuf::decode_integers(message, kPages, "pagemap entry", fields); !read)
    return std::move(read.error());
  if (!fields.has(kVaddr) || !(fields.has(kPages) || fields.has(kCompatPages)))
    return protobuf::malformed("a pagemap entry lacks its address or its size");
  PagemapEntry entry{fields.value[kVaddr], fields.value[fields.has(kPages) ? kPages : kCompatPages], 0};
  // Images from before the flags field: present unless in the parent.
  bool in_parent = fields.value[kInParent] != 0;
  entry.flags = fields.has(kFlags) ? static_cast<uint32_t>(fields.value[kFlags])
                                   : (in_parent ? kPagemapInParent : kPagemapPresent);
  if (entry.pages > kMaxEntryPages) return protobuf::malformed("a pagemap entry of more pages than any memory");
  return entry;
}

Result<Pagemap> parse_pagemap(std::span<const std::byte> image) {
  protobuf::Reader in(image);
  Result<uint32_t> magic = in.u32_le("the image's magic");
  if (magic && *magic == kImageCommonMagic) magic = in.u32_le("the image's magic");
  if (!magic) return std::move(magic.error());
  if (*magic != kPagemapMagic) return protobuf::malformed("its magic is " + protobuf::hex(*magic));
  Pagemap pagemap;
  if (in.at_end()) return protobuf::malformed("it has no head");
  for (bool head = true; !in.at_end(); head = false) {
    Result<uint32_t> size = in.u32_le("an entry's size");
    if (!size) return std::move(size.error());
    Result<std::span<const std::byte>> message = in.take(*size, "an entry");
    if (!message) return std::move(message.error());
    if (head) {
      protobuf::IntegerFields fields;
      if (Status read = protobuf::decode_integers(*message, 1, "pagemap head", fields); !read) return std::move(read.error());
      if (!fields.has(1)) return protobuf::malformed("its head names no pages image");
      pagemap.pages_id = static_cast<uint32_t>(fields.value[1]);
      continue;
    }
    Result<PagemapEntry> entry = parse_entry(*message);
    if (!entry) return std::move(entry.error()).wrap("entry " + std::to_string(pagemap.entries.size()));
    pagemap.entries.push_back(*entry);
  }
  return pagemap;
}

Error malformed(const fs::path& file, const std::string& what) {
  return make_error(ErrorCode::InvalidInput, "`" + file.string() + "` is not a CRIU pagemap image: " + what);
}

}  // namespace

std::optional<uint64_t> Pagemap::page_index(uint64_t vaddr) const {
  uint64_t index = 0;
  for (const PagemapEntry& entry : entries) {
    if (!entry.present()) continue;
    if (vaddr >= entry.vaddr && (vaddr - entry.vaddr) / 4096 < entry.pages) return index + (vaddr - entry.vaddr) / 4096;
    index += entry.pages;
  }
  return std::nullopt;
}

Result<Pagemap> read_pagemap(const fs::path& file) {
  Result<std::string> bytes = base::read_text_file(file);
  if (!bytes) return std::move(bytes.error());
  Result<Pagemap> pagemap = parse_pagemap(std::as_bytes(std::span(*bytes)));
  if (!pagemap) return malformed(file, pagemap.error().message);
  return pagemap;
}

Result<LazyPageFlags> lazy_pages_of(const fs::path& images_dir) {
  LazyPageFlags flags;
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(images_dir, ec)) {
    std::string name = file.path().filename().string();
    if (!name.starts_with("pagemap-") || !name.ends_with(".img")) continue;
    Result<Pagemap> pagemap = read_pagemap(file.path());
    if (!pagemap) return std::move(pagemap.error());
    bool shared = name.starts_with("pagemap-shmem-");
    std::vector<bool>& pages = flags[pagemap->pages_image()];
    for (const PagemapEntry& entry : pagemap->entries) {
      if (!entry.present()) continue;
      if (pages.size() + entry.pages > kMaxImagePages) return malformed(file.path(), "more pages than any memory");
      pages.insert(pages.end(), entry.pages, !shared && entry.lazy());
    }
  }
  if (ec) return make_error(ErrorCode::Io, "cannot read `" + images_dir.string() + "`: " + ec.message());
  return flags;
}

}  // namespace dockmig::checkpoint
