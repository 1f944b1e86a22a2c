// On disk, the record file is the truth: put replaces it atomically and durably, and take
// claims it by renaming it away first, so that of two processes sharing the state dir (the
// agent and `dockmig migrate`) only one hands a preparation to a handoff.
#include "migrate/warm_store.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <cctype>
#include <regex>
#include <set>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/text_file.h"

namespace dockmig::migrate {
namespace {

constexpr const char* kRecordSuffix = ".prep";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Docker's ids are hex; anything else stays out of file names.
bool valid_container_id(const std::string& id) {
  static const std::regex kId("[0-9a-f]{1,128}");
  return std::regex_match(id, kId);
}

Result<WarmRecord> read_record(const std::filesystem::path& path) {
  Result<std::string> bytes = base::read_text_file(path);
  if (!bytes) return std::move(bytes.error());
  Result<WarmRecord> record = decode_warm_record(*bytes);
  if (!record) return std::move(record.error()).wrap("`" + path.string() + "`");
  return record;
}

void drop(const std::filesystem::path& record, const std::filesystem::path& work) {
  std::error_code ignored;
  if (!work.empty()) std::filesystem::remove_all(work, ignored);
  if (Status removed = base::remove_file_durably(record); !removed)
    spdlog::warn("preparation: {}", removed.error().describe());
}

// A record renamed `….taken-PID` by a take whose process is gone.
bool claimed_by_the_dead(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  size_t mark = name.find(".taken-");
  if (mark == std::string::npos) return false;
  pid_t pid = static_cast<pid_t>(std::atoll(name.c_str() + mark + 7));
  return pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH);
}

void refuse_damaged(const std::filesystem::path& path, const Error& error) {
  spdlog::warn("preparation dropped: {}", error.describe());
  drop(path, {});
}

}  // namespace

void WarmStore::persist_in(const std::filesystem::path& dir) {
  Status made = base::create_directories_durably(dir);
  std::lock_guard lock(mutex_);
  if (!made) {
    spdlog::warn("preparations kept in memory only: {}", made.error().describe());
    return;
  }
  dir_ = dir;
}

std::filesystem::path WarmStore::work_dir(const std::string& warm_id) const {
  std::filesystem::path root = persistent() ? dir_ : std::filesystem::temp_directory_path();
  return root / ("dockmig-warm-" + warm_id);
}

// ADDR:PORT in a file name: anything but letters, digits, '.' and '-' becomes '_'.
std::filesystem::path WarmStore::record_path(const std::string& container_id, const std::string& destination) const {
  std::string name = container_id + "@";
  for (char c : destination) name += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return dir_ / (name + kRecordSuffix);
}

bool WarmStore::expired(const WarmState& state) const {
  return unix_now() - state.prepared_at > ttl_.load().count();
}

void WarmStore::put(const std::string& container_id, WarmState state) {
  if (state.prepared_at == 0) state.prepared_at = unix_now();
  std::lock_guard lock(mutex_);
  std::error_code ignored;
  Key key{container_id, state.destination};
  if (auto old = states_.find(key); old != states_.end()) {
    std::filesystem::remove_all(old->second.work, ignored);
    states_.erase(old);
  }
  if (persistent() && valid_container_id(container_id)) {
    std::filesystem::path path = record_path(container_id, state.destination);
    if (Result<WarmRecord> old = read_record(path); old && old->state.work != state.work)
      std::filesystem::remove_all(old->state.work, ignored);
    Status written = base::write_file_atomically(path, encode_warm_record({container_id, state}));
    if (written) return;
    spdlog::warn("preparation of {} kept in memory only: {}", container_id, written.error().describe());
  }
  states_[key] = std::move(state);
}

std::optional<WarmState> WarmStore::take(const std::string& container_id, const std::string& destination) {
  std::lock_guard lock(mutex_);
  auto found = states_.find(Key{container_id, destination});
  if (found == states_.end()) return persistent() ? take_from_disk(container_id, destination) : std::nullopt;
  WarmState state = std::move(found->second);
  states_.erase(found);
  if (!expired(state)) return state;
  std::error_code ignored;
  std::filesystem::remove_all(state.work, ignored);
  return std::nullopt;
}

std::optional<WarmState> WarmStore::take_from_disk(const std::string& container_id, const std::string& destination) {
  if (!valid_container_id(container_id)) return std::nullopt;
  std::filesystem::path path = record_path(container_id, destination);
  std::filesystem::path claimed = path;
  claimed += ".taken-" + std::to_string(::getpid());
  if (::rename(path.c_str(), claimed.c_str()) != 0) return std::nullopt;  // none, or another process took it
  Result<WarmRecord> record = read_record(claimed);
  if (!record) {
    refuse_damaged(claimed, record.error());
    return std::nullopt;
  }
  WarmState& state = record->state;
  if (record->container_id != container_id || state.destination != destination || expired(state)) {
    drop(claimed, state.work);
    return std::nullopt;
  }
  drop(claimed, {});
  return std::move(state);
}

void WarmStore::prune(const std::function<bool(const std::string&, const WarmState&)>& keep) {
  std::lock_guard lock(mutex_);
  std::erase_if(states_, [this](const auto& entry) {
    if (!expired(entry.second)) return false;
    std::error_code ignored;
    std::filesystem::remove_all(entry.second.work, ignored);
    return true;
  });
  if (!persistent()) return;
  std::error_code ec;
  std::set<std::filesystem::path> kept_work;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::filesystem::path& path = entry.path();
    if (!entry.is_regular_file() || path.extension() != kRecordSuffix) continue;
    Result<WarmRecord> record = read_record(path);
    if (!record) {
      refuse_damaged(path, record.error());
    } else if (const char* why = expired(record->state) ? "older than its time-to-live"
                                 : keep && !keep(record->container_id, record->state)
                                     ? "its container is gone, stopped or restarted"
                                     : nullptr) {
      spdlog::info("preparation of {} for {} dropped: {}", record->container_id, record->state.destination, why);
      drop(path, record->state.work);
    } else {
      kept_work.insert(record->state.work);
    }
  }
  drop_leftovers(kept_work);
}

// What a process that died in a preparation or a take left: work dirs no record names
// (once old enough not to be a preparation under way) and claimed records.
// The agent prunes every few seconds, so a work dir gets the default TTL at least (a
// preparation still sending has no record yet), and only a dead process's claims go.
void WarmStore::drop_leftovers(const std::set<std::filesystem::path>& kept_work) const {
  std::error_code ec;
  auto old_enough = std::filesystem::file_time_type::clock::now() - std::max(ttl_.load(), kWarmTtl);
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::filesystem::path& path = entry.path();
    bool orphan_work = entry.is_directory() && !kept_work.contains(path) && entry.last_write_time(ec) < old_enough;
    if (orphan_work || claimed_by_the_dead(path)) std::filesystem::remove_all(path, ec);
  }
}

WarmStore& warm_store() {
  static WarmStore store;
  return store;
}

}  // namespace dockmig::migrate
