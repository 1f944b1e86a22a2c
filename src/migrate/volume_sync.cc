#include "migrate/volume_sync.h"

#include <set>

#include <spdlog/spdlog.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Result<VolumeSpec> read_volume_spec(const json& entry, size_t index) {
  PeerMessage fields(entry, "volumes[" + std::to_string(index) + "] of the `prepare` message");
  VolumeSpec spec{fields.string("name"), fields.object_or_empty("labels")};
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (!valid_volume_name(spec.name))
    return make_error(ErrorCode::InvalidInput, "protocol: volume name `" + spec.name.substr(0, 80) + "` is malformed");
  for (const auto& [key, value] : spec.labels.items())
    if (!value.is_string())
      return make_error(ErrorCode::InvalidInput, "protocol: label `" + key.substr(0, 80) + "` of volume `" + spec.name +
                                                     "` is not a string");
  return spec;
}

bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::directory_iterator(dir, ec) != fs::directory_iterator();
}

std::string mountpoint_of(const json& inspect) {
  auto found = inspect.is_object() ? inspect.find("Mountpoint") : inspect.end();
  return found != inspect.end() && found->is_string() ? found->get<std::string>() : "";
}

std::string driver_of(const json& inspect) {
  auto found = inspect.is_object() ? inspect.find("Driver") : inspect.end();
  return found != inspect.end() && found->is_string() ? found->get<std::string>() : "";
}

Status check_existing(const std::string& name, const json& inspect) {
  std::string driver = driver_of(inspect);
  if (driver != "local")
    return make_error(ErrorCode::InvalidInput, "a volume named `" + name + "` exists at the destination with the `" +
                                               driver + "` driver",
                      "remove it on the destination (`docker volume rm " + name + "`) if it is not needed there");
  if (has_entries(mountpoint_of(inspect)))
    return make_error(ErrorCode::InvalidInput, "a volume named `" + name + "` already exists at the destination with data",
                      "remove it on the destination (`docker volume rm " + name +
                          "`) if its data may go; dockmig never merges a volume's data into another's");
  return {};
}

}  // namespace

json volume_specs_json(const std::vector<MovedVolume>& volumes) {
  json specs = json::array();
  for (const MovedVolume& volume : volumes) specs.push_back({{"name", volume.name}, {"labels", volume.labels}});
  return specs;
}

Result<std::vector<VolumeSpec>> read_volume_specs(PeerMessage& prepare) {
  const json& list = prepare.list_or_empty("volumes");
  if (Status read = prepare.status(); !read) return std::move(read.error());
  if (list.size() > kMaxVolumes)
    return make_error(ErrorCode::InvalidInput, "protocol: the `prepare` message lists " + std::to_string(list.size()) +
                                                   " volumes; at most " + std::to_string(kMaxVolumes) + " move at once");
  std::vector<VolumeSpec> specs;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    Result<VolumeSpec> spec = read_volume_spec(list[i], i);
    if (!spec) return std::move(spec.error());
    if (!names.insert(spec->name).second)
      return make_error(ErrorCode::InvalidInput, "protocol: volume `" + spec->name + "` is listed twice");
    specs.push_back(std::move(*spec));
  }
  return specs;
}

TreeSyncFiles VolumeSender::files(size_t index) const {
  return {volumes_[index].data_dir, work_ / ("volume-" + std::to_string(index)), zstd_level_, "volume"};
}

Status VolumeSender::send_whole(Session& session, PhaseReport& phase, Progress& progress) {
  presynced_.clear();
  for (size_t i = 0; i < volumes_.size(); ++i) {
    Result<layers::UpperSnapshot> now = layers::scan_upper_dir(volumes_[i].data_dir);
    if (!now) return std::move(now.error()).wrap("reading " + described(volumes_[i]));
    Status sent = send_whole_tree(session, files(i), phase, progress);
    if (!sent) return sent;
    presynced_.push_back(std::move(*now));
  }
  return {};
}

Status VolumeSender::send_final(Session& session, PhaseReport& phase, Progress& progress) {
  for (size_t i = 0; i < volumes_.size(); ++i) {
    Result<layers::UpperSnapshot> now = layers::scan_upper_dir(volumes_[i].data_dir);
    if (!now) return std::move(now.error()).wrap("reading " + described(volumes_[i]));
    Status sent = send_final_changes(session, files(i), presynced_.at(i), *now, phase, progress);
    if (!sent) return sent;
  }
  return {};
}

Status VolumeReceiver::check(const docker::EngineClient& engine) const {
  for (const VolumeSpec& spec : specs_) {
    Result<json> existing = engine.inspect_volume(spec.name);
    if (!existing && existing.error().code == ErrorCode::NotFound) continue;
    if (!existing) return std::move(existing.error()).wrap("reading volume `" + spec.name + "` at the destination");
    if (Status free = check_existing(spec.name, *existing); !free) return free;
  }
  return {};
}

Status VolumeReceiver::create(const docker::EngineClient& engine,
                              const std::function<Status(const std::string&)>& noted) {
  for (const VolumeSpec& spec : specs_) {
    Result<json> volume = engine.inspect_volume(spec.name);
    if (!volume && volume.error().code == ErrorCode::NotFound) {
      volume = engine.create_volume(spec.name, spec.labels);
      if (volume) created_.push_back(spec.name);
      if (Status recorded = volume ? noted(spec.name) : Status{}; !recorded) return recorded;
    }
    if (!volume) return std::move(volume.error());
    // Checked again: another volume of the name may have come since the prepare.
    if (Status free = check_existing(spec.name, *volume); !free) return free;
    if (mountpoint_of(*volume).empty())
      return make_error(ErrorCode::ToolFailed, "dockerd names no Mountpoint for volume `" + spec.name + "`");
    data_dirs_.push_back(mountpoint_of(*volume));
  }
  data_dirs_.insert(data_dirs_.end(), bind_dirs_.begin(), bind_dirs_.end());
  return {};
}

Status VolumeReceiver::receive(Session& session, bool then_sign) {
  for (size_t i = 0; i < data_dirs_.size(); ++i) {
    TreeSyncFiles files{data_dirs_.at(i), work_ / ("volume-" + std::to_string(i)), 3, "volume"};
    std::error_code ec;
    fs::create_directories(files.work, ec);
    Status received = receive_synced_tree(session, files, then_sign);
    std::string what = i < specs_.size() ? "volume `" + specs_[i].name + "`" : "the copy of a bind mount";
    if (!received) return std::move(received.error()).wrap("receiving " + what);
  }
  return {};
}

void VolumeReceiver::remove_created(const docker::EngineClient& engine) const {
  for (const std::string& name : created_) {
    Status removed = engine.remove_volume(name);
    if (!removed) spdlog::warn("{}; remove volume `{}` by hand", removed.error().describe(), name);
  }
}

}  // namespace dockmig::migrate
