// Named fault points: places where a test build of dockmig can crash, hang, wait, drop
// its link or pause for the test harness (docs/reliability.md, "Fault points"). Like
// RocksDB's sync points they compile to nothing unless CMake's DOCKMIG_FAULT_POINTS is
// on; even then the actions are a fixed few and none of them runs a command.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::faults {

enum class ActionKind { Crash, Hang, Delay, DropLink, Pause, Corrupt };

struct Action {
  ActionKind kind = ActionKind::Crash;
  std::chrono::milliseconds delay{};  // only for Delay
};

/// Which action each armed point runs.
using Arming = std::map<std::string, Action, std::less<>>;

/// Every fault point's name, in the order docs/reliability.md lists them.
std::span<const std::string_view> known_points();

/// Parses "POINT=ACTION[,POINT=ACTION...]" (ACTION: crash, hang, delay:MS, drop-link,
/// pause, corrupt). An unknown point or action, or a malformed part, is an error naming that part.
Result<Arming> parse_arming(std::string_view spec);

#if DOCKMIG_FAULT_POINTS
/// Arms the points named in $DOCKMIG_FAULTS; `pause` needs $DOCKMIG_FAULT_DIR too. Called
/// once, at start, before any other thread runs.
Status arm_from_environment();

/// Runs the action armed at `point`, if any. `drop_link` shuts the connection the point
/// is on down; a point without one ignores drop-link, saying so.
void reach(std::string_view point, const std::function<void()>& drop_link = {});

/// Like reach, at a point that is about to send `frame_payload`: `corrupt` flips one bit
/// of it (a link that damaged the frame); elsewhere `corrupt` is ignored, saying so.
void reach(std::string_view point, const std::function<void()>& drop_link, std::span<std::byte> frame_payload);
#endif

}  // namespace dockmig::faults

#if DOCKMIG_FAULT_POINTS
#define DOCKMIG_FAULT_POINT(...) ::dockmig::faults::reach(__VA_ARGS__)
#else
#define DOCKMIG_FAULT_POINT(...) ((void)0)
#endif
