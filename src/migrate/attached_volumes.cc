#include "migrate/attached_volumes.h"

#include <regex>

#include <spdlog/spdlog.h>

#include "base/json_fields.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

// A volume driver as Docker names a plugin: `name`, `owner/name` or `name:tag`.
bool valid_driver_name(const std::string& driver) {
  static const std::regex kDriver("[a-zA-Z0-9][a-zA-Z0-9_.:/@-]{0,254}");
  return std::regex_match(driver, kDriver);
}

Result<AttachedVolume> read_attached_volume(const json& entry, size_t index) {
  PeerMessage fields(entry, "attached_volumes[" + std::to_string(index) + "] of the `prepare` message");
  AttachedVolume volume{fields.string("name"), fields.string("driver"), fields.object_or_empty("options"),
                        fields.object_or_empty("labels")};
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (!valid_volume_name(volume.name) || !valid_driver_name(volume.driver))
    return make_error(ErrorCode::InvalidInput, "protocol: attached volume `" + volume.name.substr(0, 80) +
                                                   "` or its driver `" + volume.driver.substr(0, 80) + "` is malformed");
  if (Status strings = all_strings(volume.options, "option of volume " + volume.name); !strings)
    return std::move(strings.error());
  if (Status strings = all_strings(volume.labels, "label of volume " + volume.name); !strings)
    return std::move(strings.error());
  return volume;
}

}  // namespace

json attached_volumes_json(const std::vector<AttachedVolume>& volumes) {
  json list = json::array();
  for (const AttachedVolume& volume : volumes)
    list.push_back({{"name", volume.name}, {"driver", volume.driver}, {"options", volume.options},
                    {"labels", volume.labels}});
  return list;
}

Result<std::vector<AttachedVolume>> read_attached_volumes(PeerMessage& prepare) {
  return read_named_list<AttachedVolume>(prepare, "attached_volumes", kMaxVolumes, "attached volumes",
                                         read_attached_volume, [](const AttachedVolume& volume) { return volume.name; });
}

Status distinct_volume_names(const std::vector<VolumeSpec>& copied, const std::vector<AttachedVolume>& attached) {
  for (const AttachedVolume& volume : attached)
    for (const VolumeSpec& spec : copied)
      if (spec.name == volume.name)
        return make_error(ErrorCode::InvalidInput,
                          "protocol: volume `" + volume.name + "` is both in `volumes` and in `attached_volumes`");
  return {};
}

std::string attach_blocker(const AttachedVolume& wanted, const json* existing) {
  const std::string volume = "volume `" + wanted.name + "` of the `" + wanted.driver + "` driver";
  // A local volume's data is copied unless it is on a server: a peer may not have a host
  // path or device mounted here, nor a volume here handed over uncopied.
  if (wanted.driver == "local" && local_volume_kind(wanted.options) != LocalVolumeKind::NetworkFs)
    return volume + " has driver options " + wanted.options.dump() +
           " that are not a network file system's; the destination attaches only those";
  if (existing == nullptr && wanted.driver != "local")
    return volume + " is not reachable at the destination: its dockerd finds no volume of that name " +
           "(dockmig copies nothing of another driver's volume, so the destination must reach the same storage)";
  if (existing == nullptr) return "";
  std::string driver = string_field(*existing, "Driver");
  if (driver != wanted.driver)
    return volume + " exists at the destination with the `" + driver + "` driver";
  if (driver == "local" && object_field(*existing, "Options") != wanted.options)
    return volume + " exists at the destination with other driver options, " + object_field(*existing, "Options").dump() +
           " (the source's: " + wanted.options.dump() + ")";
  return "";
}

Status require_attaching_destination(const std::vector<AttachedVolume>& volumes, bool destination_attaches) {
  if (volumes.empty() || destination_attaches) return {};
  return make_error(ErrorCode::Unsupported,
                    "the destination's dockmig cannot attach volume `" + volumes.front().name + "` (driver `" +
                        volumes.front().driver + "`, whose data dockmig does not copy): it is older than this one",
                    "upgrade dockmig at the destination");
}

Status AttachedVolumeSetup::check(const docker::EngineClient& engine) const {
  for (const AttachedVolume& volume : volumes_) {
    Result<json> existing = engine.inspect_volume(volume.name);
    if (!existing && existing.error().code != ErrorCode::NotFound)
      return std::move(existing.error()).wrap("reading volume `" + volume.name + "` at the destination");
    if (std::string blocker = attach_blocker(volume, existing ? &*existing : nullptr); !blocker.empty())
      return make_error(ErrorCode::InvalidInput, blocker,
                        "make the volume reachable at the destination with the same driver, or move the container "
                        "without it");
  }
  return {};
}

Status AttachedVolumeSetup::create(const docker::EngineClient& engine,
                                   const std::function<Status(const std::string&)>& noted) {
  for (const AttachedVolume& volume : volumes_) {
    Result<json> existing = engine.inspect_volume(volume.name);
    bool missing = !existing && existing.error().code == ErrorCode::NotFound;
    if (!existing && !missing) return std::move(existing.error());
    // Checked again: another volume of the name may have come since the prepare.
    if (std::string blocker = attach_blocker(volume, missing ? nullptr : &*existing); !blocker.empty())
      return make_error(ErrorCode::Conflict, blocker);
    if (!missing) continue;
    Result<json> made = engine.create_volume(volume.name, volume.labels, volume.options);
    if (!made) return std::move(made.error()).wrap("making volume `" + volume.name + "` with its driver options");
    created_.push_back(volume.name);
    if (Status recorded = noted(volume.name); !recorded) return recorded;
  }
  return {};
}

void AttachedVolumeSetup::remove_created(const docker::EngineClient& engine) const {
  for (const std::string& name : created_) {
    Status removed = engine.remove_volume(name);
    if (!removed) spdlog::warn("{}; remove volume `{}` by hand", removed.error().describe(), name);
  }
}

}  // namespace dockmig::migrate
