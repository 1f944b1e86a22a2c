// The migration report as JSON (for programs: the gateway hook, the benchmark) and as a
// table (for people). Both come from the same struct so they can never disagree.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "base/byte_units.h"
#include "dockmig/migration.h"

namespace dockmig {

PhaseReport& MigrationReport::phase(const std::string& name) {
  for (PhaseReport& existing : phases)
    if (existing.name == name) return existing;
  phases.push_back(PhaseReport{name});
  return phases.back();
}

namespace {

nlohmann::json memory_json(const MemoryReport& memory) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const PrecopyRound& r : memory.rounds)
    rounds.push_back({{"seconds", r.seconds},
                      {"pages_sent", r.pages_sent},
                      {"pages_unchanged", r.pages_unchanged},
                      {"pages_redirtied", r.pages_redirtied},
                      {"raw_bytes", r.raw_bytes},
                      {"wire_bytes", r.wire_bytes},
                      {"pages_read", r.pages_read},
                      {"pages_deferred", r.pages_deferred},
                      {"container_stopped_seconds", r.stopped_seconds}});
  const FreezeRound& f = memory.freeze_round;
  nlohmann::json during_freeze = nullptr;
  if (f.ran)
    during_freeze = {{"seconds", f.seconds},
                     {"pages_read", f.pages_read},
                     {"pages_sent", f.pages_sent},
                     {"pages_unchanged", f.pages_unchanged},
                     {"cut_short", f.cut_short},
                     {"raw_bytes", f.raw_bytes},
                     {"wire_bytes", f.wire_bytes}};
  return {{"mode", memory.mode},
          {"tracking", memory.tracking},
          {"rounds", rounds},
          {"stop_reason", memory.stop_reason},
          {"round_during_freeze", during_freeze},
          {"frozen_pages_sent", memory.frozen_pages_sent},
          {"frozen_pages_known", memory.frozen_pages_known},
          {"frozen_pages_zero", memory.frozen_pages_zero},
          {"frozen_pages_resent", memory.frozen_pages_resent},
          {"pages_word_differences", memory.pages_word_differences},
          {"return_cache",
           {{"pages_offered", memory.return_cache_pages_offered},
            {"pages_avoided", memory.return_cache_pages_used},
            {"bytes_avoided", memory.return_cache_pages_used * 4096}}},
          {"postcopy",
           {{"pages_deferred", memory.postcopy.pages_deferred},
            {"pages_fetched", memory.postcopy.pages_fetched},
            {"fetches", memory.postcopy.fetches},
            {"last_page_seconds", memory.postcopy.last_page_seconds},
            {"fallback", memory.postcopy.fallback}}}};
}

nlohmann::json volumes_json(const VolumeReport& volumes) {
  nlohmann::json passes = nlohmann::json::array();
  for (const VolumePass& p : volumes.passes)
    passes.push_back(
        {{"seconds", p.seconds}, {"raw_bytes", p.raw_bytes}, {"wire_bytes", p.wire_bytes}, {"link_bytes", p.link_bytes}});
  return {{"passes", passes},
          {"stop_reason", volumes.stop_reason},
          {"held_at_destination", volumes.held},
          {"after_freeze", {{"raw_bytes", volumes.frozen_raw_bytes}, {"wire_bytes", volumes.frozen_wire_bytes}}}};
}

nlohmann::json compression_json(const std::vector<StreamCompression>& streams) {
  nlohmann::json out = nlohmann::json::array();
  for (const StreamCompression& s : streams)
    out.push_back({{"stream", s.stream},
                   {"zstd_level", s.zstd_level},
                   {"final_zstd_level", s.final_zstd_level},
                   {"automatic", s.automatic},
                   {"link_bytes_per_second", s.link_bytes_per_second},
                   {"raw_bytes", s.raw_bytes},
                   {"wire_bytes", s.wire_bytes}});
  return out;
}

/// Whether any blob's level was chosen automatically, and the best link rate a choice weighed.
std::pair<bool, double> compression_summary(const MigrationReport& report) {
  bool automatic = false;
  double rate = 0;
  for (const PhaseReport& p : report.phases)
    for (const StreamCompression& s : p.compression) {
      automatic = automatic || s.automatic;
      rate = std::max(rate, s.link_bytes_per_second);
    }
  return {automatic, rate};
}

nlohmann::json criu_share_json(const CriuShare& share) {
  return {{"seconds", share.seconds},
          {"hooks_seconds", share.hooks_seconds},
          {"frozen_seconds", share.frozen_seconds},
          {"memory_seconds", share.memory_seconds},
          {"docker_before_seconds", share.docker_before_seconds},
          {"docker_after_seconds", share.docker_after_seconds},
          {"docker_after_overlapped", share.docker_after_overlapped}};
}

}  // namespace

nlohmann::json to_json(const MigrationReport& report) {
  nlohmann::json phases = nlohmann::json::object();
  for (const PhaseReport& p : report.phases)
    phases[p.name] = {{"seconds", p.seconds},
                      {"wire_bytes", p.wire_bytes},
                      {"raw_bytes", p.raw_bytes},
                      {"compression", compression_json(p.compression)}};
  auto [automatic, link_rate] = compression_summary(report);
  return {{"container", report.container},
          {"source", report.source},
          {"destination", report.destination},
          {"image_source", report.image_source},
          {"transport", report.transport},
          {"dry_run", report.dry_run},
          {"succeeded", report.succeeded},
          {"rolled_back", report.rolled_back},
          {"error", report.error},
          {"phases", phases},
          {"handoff_seconds", report.handoff_seconds},
          {"downtime_seconds", report.downtime_seconds},
          {"bytes_total", report.bytes_total},
          {"prepared_bytes_saved", report.prepared_bytes_saved},
          {"memory", memory_json(report.memory)},
          {"volumes", volumes_json(report.volumes)},
          {"compression", {{"automatic", automatic}, {"link_bytes_per_second", link_rate}}},
          {"checkpoint_path", report.checkpoint_path},
          {"criu", {{"dump", criu_share_json(report.criu_dump)}, {"restore", criu_share_json(report.criu_restore)}}},
          {"restore",
           {{"mode", report.restore_mode},
            {"requested", report.restore_requested},
            {"choice", report.restore_choice},
            {"fallback", report.restore_fallback},
            {"lazy_fill_seconds", report.lazy_fill_seconds},
            {"started_early_seconds", report.restore_started_early_seconds},
            {"held_packets", report.held_packets},
            {"lazy_pages", report.lazy_pages}}},
          {"masked_dirs", report.masked_dirs}};
}

namespace {

std::string return_cache_text(const MemoryReport& memory) {
  if (memory.return_cache_pages_offered == 0) return {};
  char line[256];
  std::snprintf(line, sizeof line, "  return cache: the destination held %llu pages from the container's last stay; "
                "%llu not sent (%s)\n",
                static_cast<unsigned long long>(memory.return_cache_pages_offered),
                static_cast<unsigned long long>(memory.return_cache_pages_used),
                base::human_bytes(memory.return_cache_pages_used * 4096).c_str());
  return line;
}

std::string restore_text(const MigrationReport& report) {
  if (!report.restore_fallback.empty()) return "  restore: eager, not lazy: " + report.restore_fallback + "\n";
  std::string chosen = report.restore_choice.empty() ? "" : " (auto: " + report.restore_choice + ")";
  if (report.restore_mode != "lazy") {
    if (report.restore_started_early_seconds <= 0) return chosen.empty() ? "" : "  restore: eager" + chosen + "\n";
    char early[128];
    std::snprintf(early, sizeof early, "  restore: eager, started %.3f s before the memory was whole",
                  report.restore_started_early_seconds);
    return early + chosen + "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line, "  restore: lazy; %llu pages filled in behind the running container in %.3f s",
                static_cast<unsigned long long>(report.lazy_pages), report.lazy_fill_seconds);
  return line + chosen + "\n";
}

std::string postcopy_text(const MemoryReport& memory) {
  const PostcopyReport& postcopy = memory.postcopy;
  if (!postcopy.fallback.empty()) return "  memory: " + memory.mode + ", not post-copy: " + postcopy.fallback + "\n";
  if (postcopy.pages_deferred == 0) return {};
  char line[256];
  std::snprintf(line, sizeof line,
                "  %s: %llu pages left at the source at the freeze; %llu fetched after the restore in %llu requests, "
                "the last %.3f s after it\n",
                memory.mode.c_str(), static_cast<unsigned long long>(postcopy.pages_deferred),
                static_cast<unsigned long long>(postcopy.pages_fetched),
                static_cast<unsigned long long>(postcopy.fetches), postcopy.last_page_seconds);
  return line;
}

std::string memory_text(const MemoryReport& memory) {
  if (memory.rounds.empty()) return postcopy_text(memory) + return_cache_text(memory);
  std::string out;
  char line[256];
  for (size_t i = 0; i < memory.rounds.size(); ++i) {
    const PrecopyRound& r = memory.rounds[i];
    std::snprintf(line, sizeof line,
                  "  pre-copy round %zu: %.3f s, %llu pages read, %llu left for later (written again meanwhile), "
                  "%llu sent (%llu written again), %llu unchanged, %s on the wire, container stopped %.1f ms\n",
                  i + 1, r.seconds, static_cast<unsigned long long>(r.pages_read),
                  static_cast<unsigned long long>(r.pages_deferred),
                  static_cast<unsigned long long>(r.pages_sent), static_cast<unsigned long long>(r.pages_redirtied),
                  static_cast<unsigned long long>(r.pages_unchanged), base::human_bytes(r.wire_bytes).c_str(),
                  r.stopped_seconds * 1000);
    out += line;
  }
  out += "  pre-copy stopped: " + memory.stop_reason + " (tracking: " + memory.tracking + ")\n";
  if (const FreezeRound& f = memory.freeze_round; f.ran) {
    std::snprintf(line, sizeof line,
                  "  frozen, beside CRIU's dump: %.3f s, %llu pages read, %llu sent, %llu unchanged, %s on the wire%s\n",
                  f.seconds, static_cast<unsigned long long>(f.pages_read),
                  static_cast<unsigned long long>(f.pages_sent), static_cast<unsigned long long>(f.pages_unchanged),
                  base::human_bytes(f.wire_bytes).c_str(), f.cut_short ? " (cut short: the dump ended first)" : "");
    out += line;
  }
  std::snprintf(line, sizeof line, "  after the dump: %llu pages sent, %llu already there, %llu zero, %llu sent again\n",
                static_cast<unsigned long long>(memory.frozen_pages_sent),
                static_cast<unsigned long long>(memory.frozen_pages_known),
                static_cast<unsigned long long>(memory.frozen_pages_zero),
                static_cast<unsigned long long>(memory.frozen_pages_resent));
  out += line;
  if (memory.pages_word_differences > 0) {
    std::snprintf(line, sizeof line, "  pages sent as the differences of their words (they packed smaller): %llu\n",
                  static_cast<unsigned long long>(memory.pages_word_differences));
    out += line;
  }
  return out + postcopy_text(memory) + return_cache_text(memory);
}

std::string volumes_text(const VolumeReport& volumes) {
  if (volumes.passes.empty()) return {};
  std::string out;
  char line[256];
  for (size_t i = 0; i < volumes.passes.size(); ++i) {
    const VolumePass& p = volumes.passes[i];
    const char* first = volumes.held.empty() ? " (whole)" : " (whole, or what differs from a copy held there)";
    std::snprintf(line, sizeof line, "  volume pass %zu%s: %.3f s, %s changed, %s on the wire (%s with the signatures back)\n",
                  i + 1, i == 0 ? first : "", p.seconds, base::human_bytes(p.raw_bytes).c_str(),
                  base::human_bytes(p.wire_bytes).c_str(), base::human_bytes(p.link_bytes).c_str());
    out += line;
  }
  out += "  volume passes stopped: " + volumes.stop_reason + "\n";
  return out + "  volumes after the freeze: " + base::human_bytes(volumes.frozen_raw_bytes) + " changed, " +
         base::human_bytes(volumes.frozen_wire_bytes) + " on the wire\n";
}

std::string mbit(double bytes_per_second) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f Mbit/s", bytes_per_second * 8 / 1e6);
  return text;
}

/// "    precopy     zstd 12, 19->15, 9 at 4.80 Mbit/s": a phase's blobs' levels (19->15: it
/// stepped down to keep ahead of the link) and the rate the last one weighed.
std::string phase_levels_text(const PhaseReport& phase) {
  std::string levels;
  for (const StreamCompression& s : phase.compression) {
    levels += (levels.empty() ? "" : ", ") + std::to_string(s.zstd_level);
    if (s.final_zstd_level != s.zstd_level) levels += "->" + std::to_string(s.final_zstd_level);
  }
  double rate = phase.compression.back().link_bytes_per_second;
  char name[64];
  std::snprintf(name, sizeof name, "    %-11s zstd ", phase.name.c_str());
  return name + levels + (rate > 0 ? " at " + mbit(rate) : std::string(" (link not measured yet)")) + "\n";
}

std::string compression_text(const MigrationReport& report) {
  auto [automatic, link_rate] = compression_summary(report);
  std::string out;
  for (const PhaseReport& p : report.phases) {
    if (p.compression.empty()) continue;
    if (!automatic)
      return "  compression: zstd level " + std::to_string(p.compression.front().zstd_level) +
             " for every blob (fixed by the request)\n";
    out += phase_levels_text(p);
  }
  if (out.empty()) return out;
  return "  compression: zstd level chosen per blob from the link and this CPU (auto)" +
         (link_rate > 0 ? "; link measured at " + mbit(link_rate) : std::string()) + "\n" + out;
}

double phase_seconds(const MigrationReport& report, const std::string& name) {
  for (const PhaseReport& p : report.phases)
    if (p.name == name) return p.seconds;
  return 0;
}

// "  checkpoint: CRIU 0.440 s (tasks frozen 0.310 s, pages 0.010 s, waiting for runc's hooks 0.038 s);
//  Docker 0.005 s before it, 0.004 s after; rest of the phase 0.001 s"
std::string criu_share_text(const char* phase, const CriuShare& share, double phase_s) {
  if (share.seconds <= 0) return "";
  char line[400];
  int n = std::snprintf(line, sizeof line, "  %s: CRIU %.3f s (", phase, share.seconds);
  if (share.frozen_seconds > 0)
    n += std::snprintf(line + n, sizeof line - n, "tasks frozen %.3f s, pages %.3f s, ", share.frozen_seconds,
                       share.memory_seconds);
  n += std::snprintf(line + n, sizeof line - n, "waiting for runc's hooks %.3f s); ", share.hooks_seconds);
  double docker = share.docker_before_seconds + (share.docker_after_overlapped ? 0 : share.docker_after_seconds);
  if (share.docker_before_seconds + share.docker_after_seconds > 0)
    n += std::snprintf(line + n, sizeof line - n, "Docker %.3f s before it, %.3f s after%s; ", share.docker_before_seconds,
                       share.docker_after_seconds, share.docker_after_overlapped ? " (while the images moved on)" : "");
  std::snprintf(line + n, sizeof line - n, "rest of the phase %.3f s\n", std::max(0.0, phase_s - share.seconds - docker));
  return line;
}

std::string criu_text(const MigrationReport& report) {
  std::string out = criu_share_text("checkpoint", report.criu_dump, phase_seconds(report, "checkpoint"));
  out += criu_share_text("restore", report.criu_restore, phase_seconds(report, "restore"));
  if (!out.empty())
    out += std::string("  memory left CRIU ") +
           (report.checkpoint_path == "page-server" ? "through dockmig's page server\n"
                                                    : "through containerd's store\n");
  if (!report.masked_dirs.empty()) out += "  " + report.masked_dirs + "\n";
  return out;
}

}  // namespace

std::string to_text(const MigrationReport& report) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%s %s: %s -> %s (image from %s, %s)\n",
                report.dry_run ? "plan for" : "migration of", report.container.c_str(),
                report.source.c_str(), report.destination.c_str(),
                report.image_source.empty() ? "-" : report.image_source.c_str(),
                report.transport.c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-11s %9s %12s %12s\n", "phase", "seconds", "on the wire",
                "uncompressed");
  out += line;
  for (const PhaseReport& p : report.phases) {
    std::snprintf(line, sizeof line, "  %-11s %9.3f %12s %12s\n", p.name.c_str(), p.seconds,
                  base::human_bytes(p.wire_bytes).c_str(), base::human_bytes(p.raw_bytes).c_str());
    out += line;
  }
  if (report.dry_run) return out;
  out += volumes_text(report.volumes);
  out += memory_text(report.memory);
  out += compression_text(report);
  out += criu_text(report);
  out += restore_text(report);
  if (report.held_packets > 0)
    out += "  arrivals: " + std::to_string(report.held_packets) +
           " packets reached the destination during the restore; held there, they went on to the service\n";
  std::snprintf(line, sizeof line, "  handoff %.3f s, downtime %.3f s, %s on the wire\n",
                report.handoff_seconds, report.downtime_seconds,
                base::human_bytes(report.bytes_total).c_str());
  out += line;
  if (report.succeeded) out += "  result: the container runs at the destination\n";
  else out += std::string("  result: FAILED: ") + report.error +
              (report.rolled_back ? "\n  the source container was resumed and runs\n" : "\n");
  return out;
}

}  // namespace dockmig
