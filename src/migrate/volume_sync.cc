#include "migrate/volume_sync.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "base/byte_units.h"
#include "base/json_fields.h"
#include "migrate/round_rule.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string pass_name(size_t number) {
  return number == 1 ? "pass 1 (the whole data)" : "pass " + std::to_string(number);
}

// The blobs this side sent from `first` on, compressed: what a pass put on the link.
uint64_t sent_wire_bytes(const PhaseReport& phase, size_t first) {
  uint64_t bytes = 0;
  for (size_t i = first; i < phase.compression.size(); ++i) bytes += phase.compression[i].wire_bytes;
  return bytes;
}

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

// A volume left here may have been mounted by a container started since: its data is then
// that container's too, and the one coming back must not overwrite it.
Status check_unmounted(const docker::EngineClient& engine, const std::string& name) {
  Result<std::vector<std::string>> users = engine.containers_with_volume(name);
  if (!users) return std::move(users.error());
  if (users->empty()) return {};
  return make_error(ErrorCode::InvalidInput,
                    "volume `" + name + "` at the destination, left there by this container, is now mounted by container `" +
                        users->front() + "`",
                    "remove that container at the destination, or move this one under a volume of another name");
}

}  // namespace

Status VolumeReceiver::check_existing(size_t index, const json& inspect) {
  const std::string& name = specs_.at(index).name;
  std::string driver = string_field(inspect, "Driver");
  if (driver != "local")
    return make_error(ErrorCode::InvalidInput, "a volume named `" + name + "` exists at the destination with the `" +
                                               driver + "` driver",
                      "remove it on the destination (`docker volume rm " + name + "`) if it is not needed there");
  if (!has_entries(string_field(inspect, "Mountpoint"))) return {};
  std::optional<LeftVolume> left;
  if (rule_.left_volumes) left = left_record_of(*rule_.left_volumes, name, volume_created_at(inspect));
  held_[index] = left && left->container == rule_.container && left->image == rule_.image && rule_.source_takes_held;
  if (held_[index]) return {};
  return held_volume_refusal(name, left, rule_.container, rule_.source_takes_held);
}

Result<std::vector<bool>> read_volumes_held(PeerMessage& created, const std::vector<MovedVolume>& volumes) {
  const json& names = created.list_or_empty("volumes_held");
  if (Status read = created.status(); !read) return std::move(read.error());
  std::vector<bool> held(volumes.size(), false);
  for (const json& name : names) {
    auto found = std::find_if(volumes.begin(), volumes.end(), [&](const MovedVolume& volume) {
      return name.is_string() && volume.name == name.get<std::string>();
    });
    if (found == volumes.end() || held[found - volumes.begin()])
      return make_error(ErrorCode::InvalidInput,
                        "protocol: `volumes_held` of `created` names " + name.dump().substr(0, 80) +
                            ", which is not a volume of this migration or is named twice");
    held[found - volumes.begin()] = true;
  }
  return held;
}

json volume_specs_json(const std::vector<MovedVolume>& volumes) {
  json specs = json::array();
  for (const MovedVolume& volume : volumes) specs.push_back({{"name", volume.name}, {"labels", volume.labels}});
  return specs;
}

Result<std::vector<VolumeSpec>> read_volume_specs(PeerMessage& prepare) {
  return read_named_list<VolumeSpec>(prepare, "volumes", kMaxVolumes, "volumes", read_volume_spec,
                                     [](const VolumeSpec& spec) { return spec.name; });
}

std::optional<std::string> volume_pass_stop_reason(const std::vector<VolumePass>& passes, double bytes_per_second,
                                                   double target_seconds, size_t max_passes) {
  if (passes.empty()) return std::nullopt;
  const VolumePass& last = passes.back();
  std::string name = pass_name(passes.size());
  if (last.wire_bytes < kSmallRoundBytes)
    return "converged: " + name + " sent " + base::human_bytes(last.wire_bytes);
  if (std::optional<double> seconds = crosses_within(last.wire_bytes, bytes_per_second, target_seconds))
    return "converged: " + name + "'s " + base::human_bytes(last.wire_bytes) + " take " + seconds_text(*seconds) +
           " at the link's measured rate";
  if (passes.size() >= 3 && !shrinks_enough(last.raw_bytes, passes[passes.size() - 2].raw_bytes))
    return "not converging: " + base::human_bytes(last.raw_bytes) + " changed for " + name + " after " +
           base::human_bytes(passes[passes.size() - 2].raw_bytes) + " for the pass before: the service rewrites its "
           "data about as fast as the link carries it";
  if (passes.size() >= max_passes) return "reached the limit of " + std::to_string(max_passes) + " passes";
  return std::nullopt;
}

TreeSyncFiles VolumeSender::files(size_t index) const {
  return {volumes_[index].data_dir, work_ / ("volume-" + std::to_string(index)), zstd_level_, "volume",
          /*changed_signatures_only=*/true};
}

Status VolumeSender::send_whole(Session& session, PhaseReport& phase, Progress& progress) {
  presynced_.clear();
  for (size_t i = 0; i < volumes_.size(); ++i) {
    Result<layers::UpperSnapshot> now = layers::scan_upper_dir(volumes_[i].data_dir);
    if (!now) return std::move(now.error()).wrap("reading " + described(volumes_[i]));
    Status sent;
    if (i < held_.size() && held_[i]) {
      Result<layers::UpperSnapshot> there = receive_held_tree(session, files(i));
      sent = there ? send_tree_changes_to_held(session, files(i), *there, *now, phase, progress)
                   : Status(std::move(there.error()));
    } else {
      sent = send_whole_tree(session, files(i), phase, progress);
    }
    if (!sent) return std::move(sent.error()).wrap("sending " + described(volumes_[i]));
    presynced_.push_back(std::move(*now));
  }
  return {};
}

Status VolumeSender::send_each_changed(const SendChanges& send, bool advance) {
  for (size_t i = 0; i < volumes_.size(); ++i) {
    Result<layers::UpperSnapshot> now = layers::scan_upper_dir(volumes_[i].data_dir);
    if (!now) return std::move(now.error()).wrap("reading " + described(volumes_[i]));
    Status sent = send(files(i), presynced_.at(i), *now);
    if (!sent) return sent;
    if (advance) presynced_.at(i) = std::move(*now);
  }
  return {};
}

Status VolumeSender::send_changes(Session& session, PhaseReport& phase, Progress& progress) {
  return send_each_changed(
      [&](const TreeSyncFiles& files, const layers::UpperSnapshot& baseline, const layers::UpperSnapshot& now) {
        return send_tree_changes(session, files, baseline, now, phase, progress);
      },
      /*advance=*/true);
}

Status VolumeSender::measured_pass(Session& session, PhaseReport& phase, Progress& progress, VolumeReport& report,
                                   const std::function<Status()>& send) {
  Clock::time_point begin = Clock::now();
  uint64_t link_before = session.wire_bytes(phase.name), raw_before = phase.raw_bytes;
  size_t first_blob = phase.compression.size();
  Status sent = send();
  if (!sent) return sent;
  VolumePass pass;
  pass.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  pass.raw_bytes = phase.raw_bytes - raw_before;
  pass.wire_bytes = sent_wire_bytes(phase, first_blob);
  pass.link_bytes = session.wire_bytes(phase.name) - link_before;
  report.passes.push_back(pass);
  progress.volume_pass_finished(report.passes.size(), pass);
  return {};
}

Status VolumeSender::send_passes(Session& session, bool catch_up, double target_seconds, PhaseReport& phase,
                                 Progress& progress, VolumeReport& report) {
  json end = {{"type", "volume-passes-end"}};
  if (volumes_.empty()) return catch_up ? session.send_message(end) : Status{};
  Status sent = measured_pass(session, phase, progress, report, [&] { return send_whole(session, phase, progress); });
  if (!catch_up) report.stop_reason = "the destination's dockmig takes one pass only";
  while (sent && catch_up) {
    std::optional<std::string> reason =
        volume_pass_stop_reason(report.passes, session.link_bytes_per_second(), target_seconds);
    if (reason) {
      report.stop_reason = *reason;
      return session.send_message(end);
    }
    sent = session.send_message({{"type", "volume-pass"}, {"pass", report.passes.size() + 1}});
    if (sent) sent = measured_pass(session, phase, progress, report, [&] { return send_changes(session, phase, progress); });
  }
  return sent;
}

Status VolumeSender::send_final(Session& session, PhaseReport& phase, Progress& progress, VolumeReport& report) {
  uint64_t raw_before = phase.raw_bytes;
  size_t first_blob = phase.compression.size();
  Status sent = send_each_changed(
      [&](const TreeSyncFiles& files, const layers::UpperSnapshot& baseline, const layers::UpperSnapshot& now) {
        return send_final_changes(session, files, baseline, now, phase, progress);
      },
      /*advance=*/false);
  if (!sent) return sent;
  report.frozen_raw_bytes = phase.raw_bytes - raw_before;
  report.frozen_wire_bytes = sent_wire_bytes(phase, first_blob);
  return {};
}

Status VolumeReceiver::check(const docker::EngineClient& engine) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    Result<json> existing = engine.inspect_volume(specs_[i].name);
    if (!existing && existing.error().code == ErrorCode::NotFound) continue;
    if (!existing) return std::move(existing.error()).wrap("reading volume `" + specs_[i].name + "` at the destination");
    if (Status free = check_existing(i, *existing); !free) return free;
    if (Status unused = held_[i] ? check_unmounted(engine, specs_[i].name) : Status{}; !unused) return unused;
  }
  return {};
}


std::vector<std::string> VolumeReceiver::held_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < specs_.size(); ++i)
    if (held_[i]) names.push_back(specs_[i].name);
  return names;
}

Status VolumeReceiver::create(const docker::EngineClient& engine,
                              const std::function<Status(const std::string&)>& noted) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    const VolumeSpec& spec = specs_[i];
    Result<json> volume = engine.inspect_volume(spec.name);
    if (!volume && volume.error().code == ErrorCode::NotFound) {
      volume = engine.create_volume(spec.name, spec.labels);
      if (volume) created_.push_back(spec.name);
      if (Status recorded = volume ? noted(spec.name) : Status{}; !recorded) return recorded;
    }
    if (!volume) return std::move(volume.error());
    // Checked again: another volume of the name may have come since the prepare.
    if (Status free = check_existing(i, *volume); !free) return free;
    if (string_field(*volume, "Mountpoint").empty())
      return make_error(ErrorCode::ToolFailed, "dockerd names no Mountpoint for volume `" + spec.name + "`");
    data_dirs_.push_back(string_field(*volume, "Mountpoint"));
  }
  data_dirs_.insert(data_dirs_.end(), bind_dirs_.begin(), bind_dirs_.end());
  return {};
}

Status VolumeReceiver::receive(Session& session, bool then_sign) {
  signed_.resize(data_dirs_.size());
  for (size_t i = 0; i < data_dirs_.size(); ++i) {
    TreeSyncFiles files{data_dirs_.at(i), work_ / ("volume-" + std::to_string(i)), 3, "volume", false, &signed_[i]};
    std::error_code ec;
    fs::create_directories(files.work, ec);
    bool offer = !first_pass_received_ && i < held_.size() && held_[i];
    Status received = offer ? offer_held_tree(session, files) : Status();
    if (received) received = receive_synced_tree(session, files, then_sign);
    std::string what = i < specs_.size() ? "volume `" + specs_[i].name + "`" : "the copy of a bind mount";
    if (!received) return std::move(received.error()).wrap("receiving " + what);
  }
  first_pass_received_ = true;
  return {};
}

Status VolumeReceiver::receive_passes(Session& session) {
  for (;;) {
    Result<json> message = session.receive_message();
    if (!message) return std::move(message.error());
    PeerMessage fields(*message);
    std::string type = fields.type();
    if (Status read = fields.status(); !read) return read;
    if (type == "volume-passes-end") return {};
    if (type != "volume-pass")
      return make_error(ErrorCode::InvalidInput,
                        "protocol: expected `volume-pass` or `volume-passes-end`, got `" + type.substr(0, 80) + "`");
    if (Status received = receive(session, /*then_sign=*/true); !received) return received;
  }
}

std::vector<std::string> VolumeReceiver::volume_names() const {
  std::vector<std::string> names;
  for (const VolumeSpec& spec : specs_) names.push_back(spec.name);
  return names;
}

void VolumeReceiver::remove_created(const docker::EngineClient& engine) const {
  for (const std::string& name : created_) {
    Status removed = engine.remove_volume(name);
    if (!removed) spdlog::warn("{}; remove volume `{}` by hand", removed.error().describe(), name);
  }
}

}  // namespace dockmig::migrate
