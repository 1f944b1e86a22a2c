#include "migrate/left_volumes.h"

#include <chrono>
#include <ctime>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/file_lock.h"
#include "base/json_fields.h"
#include "base/text_file.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Records = std::map<std::string, LeftVolume>;

std::optional<Records> parse_records(const std::string& text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto volumes = parsed.is_object() ? parsed.find("volumes") : parsed.end();
  if (volumes == parsed.end() || !volumes->is_object()) return std::nullopt;
  Records records;
  for (const auto& [name, item] : volumes->items()) {
    if (!item.is_object()) return std::nullopt;
    LeftVolume left{name, item.value("container", ""), item.value("image", ""), item.value("created_at", ""),
                    item.value("left_at", int64_t{0})};
    if (left.container.empty()) return std::nullopt;
    records.emplace(name, std::move(left));
  }
  return records;
}

std::string records_text(const Records& records) {
  json volumes = json::object();
  for (const auto& [name, left] : records)
    volumes[name] = {{"container", left.container},
                     {"image", left.image},
                     {"created_at", left.created_at},
                     {"left_at", left.left_at}};
  return json{{"volumes", volumes}}.dump(2) + "\n";
}

// What the file holds; none when it is absent, and none (logged) when it does not parse.
Records read_records(const fs::path& file) {
  Result<std::optional<std::string>> text = base::read_text_file_if_exists(file);
  if (!text) spdlog::warn("{}; it is taken as holding no record of left volumes", text.error().describe());
  if (!text || !*text) return {};
  std::optional<Records> records = parse_records(**text);
  if (!records) spdlog::warn("`{}` does not parse; it is taken as holding no record of left volumes", file.string());
  return records.value_or(Records{});
}

std::string utc_time(int64_t unix_seconds) {
  std::time_t time = unix_seconds;
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &utc);
  return text;
}

// Read, changed by `change`, written back whole, under the lock.
Status rewrite(const fs::path& file, const fs::path& lock_file, const std::function<void(Records&)>& change) {
  Status made = base::create_directories_durably(file.parent_path());
  if (!made) return made;
  Result<base::UniqueFd> lock = base::lock_exclusively(lock_file);
  if (!lock) return std::move(lock.error());
  Records records = read_records(file);
  change(records);
  return base::write_file_atomically(file, records_text(records));
}

}  // namespace

Status LeftVolumes::record(const std::vector<LeftVolume>& left) const {
  if (left.empty()) return {};
  return rewrite(file_, lock_, [&](Records& records) {
    for (const LeftVolume& volume : left) records.insert_or_assign(volume.volume, volume);
  });
}

Status LeftVolumes::forget(const std::vector<std::string>& volumes) const {
  std::error_code ec;
  if (volumes.empty() || !fs::exists(file_, ec)) return {};
  return rewrite(file_, lock_, [&](Records& records) {
    for (const std::string& volume : volumes) records.erase(volume);
  });
}

std::optional<LeftVolume> LeftVolumes::find(const std::string& volume) const {
  Records records = read_records(file_);
  auto found = records.find(volume);
  if (found == records.end()) return std::nullopt;
  return found->second;
}

std::string volume_created_at(const json& inspect) {
  return string_field(inspect, "CreatedAt");
}

void record_left_volumes(const docker::EngineClient& engine, const fs::path& state_dir,
                         const std::vector<MovedVolume>& volumes, const std::string& container,
                         const std::string& image) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<LeftVolume> left;
  for (const MovedVolume& volume : volumes) {
    Result<json> inspect = engine.inspect_volume(volume.name);
    left.push_back({volume.name, container, image, inspect ? volume_created_at(*inspect) : "", now});
  }
  Status recorded = LeftVolumes(state_dir).record(left);
  if (!recorded)
    spdlog::warn("the volumes `{}` left are not recorded as its: {}; moving it back here will take removing them "
                 "first", container, recorded.error().describe());
}

std::optional<LeftVolume> left_record_of(const LeftVolumes& records, const std::string& volume,
                                         const std::string& inspect_created_at) {
  std::optional<LeftVolume> left = records.find(volume);
  if (!left || left->created_at != inspect_created_at) return std::nullopt;
  return left;
}

Error held_volume_refusal(const std::string& volume, const std::optional<LeftVolume>& left,
                          const std::string& arriving, bool source_takes_held) {
  std::string remove = "`docker volume rm " + volume + "`";
  if (left && left->container == arriving)
    return make_error(ErrorCode::InvalidInput,
                      "volume `" + volume + "` at the destination holds the data `" + arriving + "` left there on " +
                          utc_time(left->left_at) + ", " +
                          (source_takes_held ? "with another image" : "and the source's dockmig cannot take it back"),
                      "run " + remove + " on the destination (the old copy: the data at the source is newer) and "
                          "migrate again; the volume then crosses whole" +
                          (source_takes_held ? "" : ", or upgrade dockmig at the source"));
  if (left)
    return make_error(ErrorCode::InvalidInput,
                      "volume `" + volume + "` at the destination holds the data of another container, `" +
                          left->container + "`, which left there on " + utc_time(left->left_at),
                      "run " + remove + " on the destination if that data may go, or migrate a container whose "
                          "volume has another name; dockmig never merges a volume's data into another's");
  return make_error(ErrorCode::InvalidInput, "a volume named `" + volume + "` already exists at the destination with data",
                    "run " + remove + " on the destination if its data may go; dockmig never merges a volume's "
                        "data into another's");
}

}  // namespace dockmig::migrate
