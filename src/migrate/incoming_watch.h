// What a destination tells its watcher (the agent's metrics, docs/api.md "Metrics") of the
// migrations it receives: the phase each one is in, and how each one ended.
#pragma once

#include <string_view>

namespace dockmig::migrate {

/// How a migration received here ended.
enum class IncomingEnd {
  Committed,   // its container runs here
  RolledBack,  // it ended before the commit, and what it had made here was removed
  Superseded,  // a retry of the same container from the same source took its place
  Failed,      // refused before it made anything here, or what it made could not be removed yet
};

/// The metrics' label value: "committed", "rolled_back", "superseded", "failed".
constexpr const char* incoming_end_name(IncomingEnd end) {
  switch (end) {
    case IncomingEnd::Committed: return "committed";
    case IncomingEnd::RolledBack: return "rolled_back";
    case IncomingEnd::Superseded: return "superseded";
    case IncomingEnd::Failed: return "failed";
  }
  return "failed";
}

/// Every session calls it from its own thread, so an implementation must be thread-safe.
class IncomingWatch {
 public:
  virtual ~IncomingWatch() = default;
  /// A migration entered phase `to` ("prepare" first, then the destination's steps:
  /// image, create, presync, finalsync, swap, restore, commit), leaving `from` ("" at its start).
  virtual void phase_changed(std::string_view from, std::string_view to) = 0;
  /// It ended, in `phase`.
  virtual void ended(std::string_view phase, IncomingEnd end) = 0;
};

}  // namespace dockmig::migrate
