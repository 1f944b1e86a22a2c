#include "memory/return_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <cstdio>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/text_file.h"
#include "base/file_lock.h"
#include "base/unique_fd.h"

namespace dockmig::memory {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kIndexFile = "index.json";
constexpr const char* kHashesFile = "hashes";
constexpr const char* kLockFile = "lock";
constexpr const char* kPartialPrefix = "partial-";

struct Entry {
  std::string container, image, dir;
  uint64_t bytes = 0, pages = 0, used = 0;
};

struct Index {
  uint64_t budget = ReturnCache::kDefaultBudget;
  uint64_t clock = 0;  // bumped at each use: "least recently used" without trusting wall time
  std::vector<Entry> entries;

  uint64_t bytes() const {
    uint64_t total = 0;
    for (const Entry& entry : entries) total += entry.bytes;
    return total;
  }
  std::vector<Entry>::iterator find(const ReturnCacheKey& key) {
    return std::find_if(entries.begin(), entries.end(), [&](const Entry& entry) {
      return entry.container == key.container && entry.image == key.image;
    });
  }
};

// One writer or reader at a time, across processes: the agent and `dockmig migrate` both
// use the cache of a state dir.
class DirLock {
 public:
  static Result<DirLock> take(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
    Result<base::UniqueFd> fd = base::lock_exclusively(dir / kLockFile);
    if (!fd) return std::move(fd.error());
    return DirLock(std::move(*fd));
  }

 private:
  explicit DirLock(base::UniqueFd fd) : fd_(std::move(fd)) {}
  base::UniqueFd fd_;  // closing it releases the lock
};

bool valid_entry_dir(const std::string& name) {
  static const std::regex kName("[0-9a-f]{16}");
  return std::regex_match(name, kName);
}

std::string new_entry_dir() {
  std::random_device random;
  char name[17];
  std::snprintf(name, sizeof name, "%08x%08x", random(), random());
  return name;
}

std::vector<fs::path> entry_images(const fs::path& dir) {
  std::vector<fs::path> images;
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(dir, ec))
    if (file.path().filename() != kHashesFile) images.push_back(file.path());
  std::sort(images.begin(), images.end());
  return images;
}

// Whether an entry's files are what the index says; sizes only, the pages are checked
// against their hashes when used.
bool entry_intact(const fs::path& cache, const Entry& entry) {
  if (!valid_entry_dir(entry.dir)) return false;
  std::error_code ec;
  fs::path dir = cache / entry.dir;
  uint64_t image_bytes = 0;
  for (const fs::path& image : entry_images(dir)) {
    image_bytes += fs::file_size(image, ec);
    if (ec) return false;
  }
  uint64_t hash_bytes = fs::file_size(dir / kHashesFile, ec);
  return !ec && image_bytes == entry.pages * kPageSize && hash_bytes == entry.pages * kPageHashBytes &&
         entry.bytes == image_bytes + hash_bytes;
}

std::optional<Index> parse_index(const std::string& text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  try {
    Index index;
    index.budget = parsed.at("budget").get<uint64_t>();
    index.clock = parsed.at("clock").get<uint64_t>();
    for (const json& item : parsed.at("entries"))
      index.entries.push_back({item.at("container").get<std::string>(), item.at("image").get<std::string>(),
                               item.at("dir").get<std::string>(), item.at("bytes").get<uint64_t>(),
                               item.at("pages").get<uint64_t>(), item.at("used").get<uint64_t>()});
    return index;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

Status save_index(const fs::path& cache, const Index& index) {
  json entries = json::array();
  for (const Entry& entry : index.entries)
    entries.push_back({{"container", entry.container}, {"image", entry.image}, {"dir", entry.dir},
                       {"bytes", entry.bytes}, {"pages", entry.pages}, {"used", entry.used}});
  json text = {{"budget", index.budget}, {"clock", index.clock}, {"entries", entries}};
  return base::write_file_atomically(cache / kIndexFile, text.dump() + "\n");
}

// The index as it can be trusted: entries whose files do not match it are dropped, and so
// is everything in the dir that no entry names (a write cut short, a dropped index).
Index load_index(const fs::path& cache) {
  Index index;
  bool dropped = false;
  Result<std::optional<std::string>> text = base::read_text_file_if_exists(cache / kIndexFile);
  if (!text) spdlog::warn("the return cache's index is unreadable; dropping the cache: {}", text.error().describe());
  if (text && *text) {
    std::optional<Index> parsed = parse_index(**text);
    if (parsed) index = std::move(*parsed);
    else spdlog::warn("the return cache's index `{}` is damaged; dropping the cache", (cache / kIndexFile).string());
    dropped = !parsed;
  }
  dropped |= std::erase_if(index.entries, [&](const Entry& entry) {
    bool intact = entry_intact(cache, entry);
    if (!intact) spdlog::warn("return cache: the entry of `{}` is damaged; dropped", entry.container);
    return !intact;
  }) > 0;
  if (dropped)
    if (Status saved = save_index(cache, index); !saved) spdlog::warn("{}", saved.error().describe());
  std::unordered_set<std::string> named;
  for (const Entry& entry : index.entries) named.insert(entry.dir);
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(cache, ec)) {
    std::string name = file.path().filename().string();
    if (name != kIndexFile && name != kLockFile && !named.contains(name)) fs::remove_all(file.path(), ec);
  }
  return index;
}

// Drops the least recently used entries until the rest fit the budget; returns their dirs.
std::vector<std::string> evict(Index& index) {
  std::sort(index.entries.begin(), index.entries.end(), [](const Entry& a, const Entry& b) { return a.used > b.used; });
  std::vector<std::string> evicted;
  while (!index.entries.empty() && index.bytes() > index.budget) {
    spdlog::info("return cache: evicted the pages of `{}` (least recently used)", index.entries.back().container);
    evicted.push_back(index.entries.back().dir);
    index.entries.pop_back();
  }
  return evicted;
}

void remove_dirs(const fs::path& cache, const std::vector<std::string>& dirs) {
  std::error_code ec;
  for (const std::string& dir : dirs) fs::remove_all(cache / dir, ec);
}

// A hard link where the images are on the same file system (nothing is copied; CRIU
// never rewrites an image), a copy where not. Docker's checkpoint dir may hold symlinks.
Status link_or_copy(const fs::path& image, const fs::path& target) {
  std::error_code ec;
  fs::path real = fs::canonical(image, ec);
  if (!ec) fs::create_hard_link(real, target, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(image, target, ec);
  }
  if (ec) return make_error(ErrorCode::Io, "keeping `" + image.string() + "` in the return cache: " + ec.message());
  return {};
}

// Fills a new entry dir with the images and their hashes; returns its page count.
Result<uint64_t> fill_entry(const fs::path& dir, const std::vector<fs::path>& page_images) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
  std::string hashes;
  for (const fs::path& image : page_images) {
    fs::path kept = dir / image.filename();
    if (Status linked = link_or_copy(image, kept); !linked) return std::move(linked.error());
    Status hashed = for_each_page_of_file(kept, [&](PageView page) -> Status {
      std::array<std::byte, kPageHashBytes> bytes = hash_bytes(hash_page(page));
      hashes.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return {};
    });
    if (!hashed) return std::move(hashed.error());
  }
  if (Status written = base::write_file_atomically(dir / kHashesFile, hashes); !written) return std::move(written.error());
  return hashes.size() / kPageHashBytes;
}

Result<std::vector<PageHash>> read_hashes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<PageHash> hashes;
  std::array<std::byte, kPageHashBytes> bytes;
  while (in.read(reinterpret_cast<char*>(bytes.data()), bytes.size())) hashes.push_back(hash_from_bytes(bytes));
  if (!in.eof()) return make_error(ErrorCode::Io, "cannot read `" + file.string() + "`");
  return hashes;
}

}  // namespace

Status ReturnCache::open(uint64_t budget_bytes) {
  Result<DirLock> lock = DirLock::take(dir_);
  if (!lock) return std::move(lock.error());
  Index index = load_index(dir_);
  index.budget = budget_bytes;
  std::vector<std::string> evicted = evict(index);
  if (Status saved = save_index(dir_, index); !saved) return saved;
  remove_dirs(dir_, evicted);
  return {};
}

Status ReturnCache::keep(const ReturnCacheKey& key, const std::vector<fs::path>& page_images) {
  Result<DirLock> lock = DirLock::take(dir_);
  if (!lock) return std::move(lock.error());
  Index index = load_index(dir_);
  std::vector<std::string> dropped;
  if (auto older = index.find(key); older != index.entries.end()) {
    dropped.push_back(older->dir);
    index.entries.erase(older);
  }
  uint64_t image_bytes = 0;
  std::error_code ec;
  for (const fs::path& image : page_images) image_bytes += fs::file_size(image, ec);
  if (ec) return make_error(ErrorCode::Io, "keeping pages for the return: " + ec.message());
  uint64_t pages = image_bytes / kPageSize;
  Entry entry{key.container, key.image, new_entry_dir(), image_bytes + pages * kPageHashBytes, pages, ++index.clock};
  if (entry.bytes <= index.budget) {
    // Under a name no index names until it is whole: a crash leaves a leftover to drop.
    fs::path partial = dir_ / (kPartialPrefix + entry.dir);
    Result<uint64_t> filled = fill_entry(partial, page_images);
    if (filled && *filled == pages) fs::rename(partial, dir_ / entry.dir, ec);
    if (!filled || *filled != pages || ec) {
      fs::remove_all(partial, ec);
      return filled ? make_error(ErrorCode::Io, "the page images changed while kept for the return")
                    : Status(std::move(filled.error()));
    }
    index.entries.push_back(entry);
  }
  std::vector<std::string> evicted = evict(index);
  dropped.insert(dropped.end(), evicted.begin(), evicted.end());
  if (Status saved = save_index(dir_, index); !saved) return saved;
  remove_dirs(dir_, dropped);
  return {};
}

Result<ReturnCacheUse> ReturnCache::replay(const ReturnCacheKey& key,
                                           const std::function<Status(const PageHash&, PageView)>& visit) const {
  Result<DirLock> lock = DirLock::take(dir_);
  if (!lock) return std::move(lock.error());
  Index index = load_index(dir_);
  ReturnCacheUse use;
  auto entry = index.find(key);
  if (entry == index.entries.end()) return use;
  fs::path dir = dir_ / entry->dir;
  Result<std::vector<PageHash>> hashes = read_hashes(dir / kHashesFile);
  if (!hashes) return std::move(hashes.error());
  std::unordered_set<PageHash, PageHashHasher> seen;
  size_t at = 0;
  for (const fs::path& image : entry_images(dir)) {
    Status read = for_each_page_of_file(image, [&](PageView page) -> Status {
      if (at >= hashes->size()) return make_error(ErrorCode::Io, "the return cache's `" + dir.string() + "` changed");
      const PageHash& expected = (*hashes)[at++];
      if (is_zero_page(page)) return {};
      if (!(hash_page(page) == expected)) {
        ++use.pages_damaged;
        return {};
      }
      if (!seen.insert(expected).second) return {};
      ++use.pages;
      return visit(expected, page);
    });
    if (!read) return std::move(read.error());
  }
  if (use.pages_damaged > 0)
    spdlog::warn("return cache: {} pages of `{}` failed their hash; the source sends them", use.pages_damaged,
                 key.container);
  entry->used = ++index.clock;
  if (Status saved = save_index(dir_, index); !saved) return std::move(saved.error());
  return use;
}

Result<uint64_t> ReturnCache::bytes_used() const {
  Result<DirLock> lock = DirLock::take(dir_);
  if (!lock) return std::move(lock.error());
  return load_index(dir_).bytes();
}

}  // namespace dockmig::memory
