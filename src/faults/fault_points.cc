// Fault points: the arming string's parser (always built, so its unit test runs in every
// build) and, in test builds only, the actions. `pause` is how a test acts at an exact
// moment from outside: the process writes its pid to DIR/POINT.reached and waits for the
// test to create DIR/POINT.release, then removes both, so the same point can pause again.
#include "faults/fault_points.h"

#include <charconv>

#if DOCKMIG_FAULT_POINTS
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>
#endif

namespace dockmig::faults {
namespace {

constexpr std::string_view kKnownPoints[] = {
    "source.before-plan",
    "source.before-image",
    "source.before-presync",
    "source.before-precopy",
    "source.before-checkpoint",
    "source.before-finalsync",
    "source.before-restore",
    "source.before-lend-pages",
    "source.before-confirm",
    "source.before-record-commit",
    "source.freeze-round-sending",
    "destination.before-image",
    "destination.before-create",
    "destination.before-presync",
    "destination.before-finalsync",
    "destination.before-swap",
    "destination.after-swap",
    "destination.before-restore",
    "destination.before-restored-reply",
    "destination.before-commit",
    "destination.lazy-daemon-started",
    "destination.before-lazy-fill-wait",
    "destination.before-first-fetch",
    "destination.before-committed-reply",
    "fleet.swap-answer-lost",
    "transfer.blob-first-chunk-sent",
    "transfer.blob-first-chunk-received",
    "transfer.presync-first-chunk-sending",
    "transfer.finalsync-first-chunk-sending",
    "transfer.presync-first-message-sending",
    "transfer.finalsync-first-message-sending",
};

constexpr std::string_view kActions = "crash, hang, delay:MS, drop-link, pause, corrupt";

bool is_known(std::string_view point) {
  for (std::string_view known : kKnownPoints)
    if (known == point) return true;
  return false;
}

Error bad_part(std::string_view part, const std::string& why) {
  return make_error(ErrorCode::InvalidInput, "DOCKMIG_FAULTS: `" + std::string(part) + "`: " + why,
                    "arm points as POINT=ACTION[,POINT=ACTION...]; docs/reliability.md lists them");
}

Result<Action> parse_action(std::string_view entry, std::string_view text) {
  if (text == "crash") return Action{ActionKind::Crash, {}};
  if (text == "hang") return Action{ActionKind::Hang, {}};
  if (text == "drop-link") return Action{ActionKind::DropLink, {}};
  if (text == "pause") return Action{ActionKind::Pause, {}};
  if (text == "corrupt") return Action{ActionKind::Corrupt, {}};
  if (text.starts_with("delay:")) {
    std::string_view digits = text.substr(6);
    unsigned milliseconds = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), milliseconds);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
      return bad_part(entry, "the delay `" + std::string(digits) + "` is not a number of milliseconds");
    return Action{ActionKind::Delay, std::chrono::milliseconds(milliseconds)};
  }
  return bad_part(entry, "unknown action `" + std::string(text) + "` (the actions: " + std::string(kActions) + ")");
}

Status add_entry(Arming& arming, std::string_view entry) {
  size_t equals = entry.find('=');
  if (equals == std::string_view::npos) return bad_part(entry, "not POINT=ACTION");
  std::string_view point = entry.substr(0, equals);
  if (!is_known(point)) return bad_part(entry, "unknown fault point `" + std::string(point) + "`");
  if (arming.contains(point)) return bad_part(entry, "`" + std::string(point) + "` is armed twice");
  Result<Action> action = parse_action(entry, entry.substr(equals + 1));
  if (!action) return std::move(action.error());
  arming.emplace(std::string(point), *action);
  return {};
}

}  // namespace

std::span<const std::string_view> known_points() { return kKnownPoints; }

Result<Arming> parse_arming(std::string_view spec) {
  Arming arming;
  if (spec.empty()) return arming;
  while (true) {
    size_t comma = spec.find(',');
    if (Status added = add_entry(arming, spec.substr(0, comma)); !added) return std::move(added.error());
    if (comma == std::string_view::npos) return arming;
    spec.remove_prefix(comma + 1);
  }
}

#if DOCKMIG_FAULT_POINTS
namespace {

// Long enough for any test's action at a pause, short enough that a test that died while
// its dockmig waited does not hold the bed for long.
constexpr auto kPauseLimit = std::chrono::minutes(2);
constexpr auto kPausePoll = std::chrono::milliseconds(20);

// Written once by arm_from_environment, before any other thread; only read after.
Arming armed;
std::filesystem::path fault_dir;

[[noreturn]] void crash(std::string_view point) {
  spdlog::warn("fault point {}: crash", point);
  ::kill(::getpid(), SIGKILL);
  std::_Exit(137);
}

[[noreturn]] void hang(std::string_view point) {
  spdlog::warn("fault point {}: hang", point);
  while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}

void drop_link_at(std::string_view point, const std::function<void()>& drop_link) {
  if (!drop_link) return spdlog::warn("fault point {}: drop-link, but no link runs here", point);
  spdlog::warn("fault point {}: drop-link", point);
  drop_link();
}

// Renamed into place, so that a test never reads a half-written pid.
void announce_pause(const std::filesystem::path& reached) {
  std::filesystem::path written = reached;
  written += ".tmp";
  std::ofstream(written) << ::getpid() << "\n";
  std::error_code ec;
  std::filesystem::rename(written, reached, ec);
  if (ec) spdlog::error("fault point pause: cannot write `{}`: {}", reached.string(), ec.message());
}

void pause_at(std::string_view point) {
  std::filesystem::path reached = fault_dir / (std::string(point) + ".reached");
  std::filesystem::path release = fault_dir / (std::string(point) + ".release");
  spdlog::info("fault point {}: paused until `{}` exists", point, release.string());
  announce_pause(reached);
  auto deadline = std::chrono::steady_clock::now() + kPauseLimit;
  std::error_code ec;
  while (!std::filesystem::exists(release, ec)) {
    if (std::chrono::steady_clock::now() > deadline) {
      spdlog::error("fault point {}: no release within {} s; going on", point,
                    std::chrono::duration_cast<std::chrono::seconds>(kPauseLimit).count());
      break;
    }
    std::this_thread::sleep_for(kPausePoll);
  }
  std::filesystem::remove(reached, ec);
  std::filesystem::remove(release, ec);
}

// One flipped byte in the middle: the receiver must find it by the blob's digest.
void corrupt_at(std::string_view point, std::span<std::byte> frame_payload) {
  if (frame_payload.empty()) return spdlog::warn("fault point {}: corrupt, but no frame is sent here", point);
  spdlog::warn("fault point {}: corrupt (one bit of a {}-byte frame flipped)", point, frame_payload.size());
  frame_payload[frame_payload.size() / 2] ^= std::byte{0x01};
}

}  // namespace

Status arm_from_environment() {
  const char* spec = std::getenv("DOCKMIG_FAULTS");
  Result<Arming> parsed = parse_arming(spec ? spec : "");
  if (!parsed) return std::move(parsed.error());
  const char* dir = std::getenv("DOCKMIG_FAULT_DIR");
  fault_dir = dir ? dir : "";
  for (const auto& [point, action] : *parsed)
    if (action.kind == ActionKind::Pause && fault_dir.empty())
      return make_error(ErrorCode::InvalidInput, "DOCKMIG_FAULTS: `" + point + "=pause` needs DOCKMIG_FAULT_DIR",
                        "set DOCKMIG_FAULT_DIR to the directory where the test waits for POINT.reached");
  armed = std::move(*parsed);
  return {};
}

void reach(std::string_view point, const std::function<void()>& drop_link) { reach(point, drop_link, {}); }

void reach(std::string_view point, const std::function<void()>& drop_link, std::span<std::byte> frame_payload) {
  auto found = armed.find(point);
  if (found == armed.end()) return;
  switch (found->second.kind) {
    case ActionKind::Crash: crash(point);
    case ActionKind::Hang: hang(point);
    case ActionKind::Delay:
      spdlog::info("fault point {}: delay {} ms", point, found->second.delay.count());
      return std::this_thread::sleep_for(found->second.delay);
    case ActionKind::DropLink: return drop_link_at(point, drop_link);
    case ActionKind::Pause: return pause_at(point);
    case ActionKind::Corrupt: return corrupt_at(point, frame_payload);
  }
}
#endif

}  // namespace dockmig::faults
