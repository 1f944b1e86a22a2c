// Resuming a migration's link after it broke (docs/protocol.md, "Resuming a broken link"):
// the destination's sessions wait here for their source to come back on a new connection,
// for a grace period; the source dials again. Both sides then continue their conversation
// where the frames each one received left off (transfer::Channel::enable_resume).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dockmig/result.h"
#include "transfer/connection.h"

namespace dockmig::migrate {

/// How long a destination keeps a session whose link broke, from when it noticed. It is
/// longer than the source's kSourceRedialWindow, so that the source always gives up first.
inline constexpr std::chrono::seconds kDestinationGrace{60};
/// After a reset the link is back (or the source's process is gone): a source that is
/// alive is already dialing, and comes back within seconds.
inline constexpr std::chrono::seconds kDestinationGraceAfterReset{10};
/// How long a new migration of a container waits for an earlier session of it (one that
/// has not noticed yet that its source is gone, or is rolling back) before it is refused.
inline constexpr std::chrono::seconds kSupersedeSettle{20};
/// How long a source dials again after it noticed its link broke: with
/// transfer::Channel::kLinkSilence before that, a link back within 30 s of the cut resumes.
inline constexpr std::chrono::seconds kSourceRedialWindow{40};

/// A secret of the source's, sent in `prepare` (under TLS when there is TLS): only who
/// knows it can take over a migration's link.
bool valid_resume_token(const std::string& token);
std::string new_resume_token();

/// The destination's sessions that may resume, by migration id.
class LinkResumes {
 public:
  /// Registers a session; `break_link` makes its current link fail as a lost one (the
  /// source came back before this side noticed). The registration ends with the returned
  /// handle.
  std::shared_ptr<void> open(const std::string& migration, const std::string& token, const std::string& identity,
                             std::function<void()> break_link);
  /// What the session moves, and from whom: the source's container id and the peer (its
  /// certificate name, else its address), so that a new migration of the same container
  /// from the same peer may supersede it (supersede()).
  void name_source(const std::string& migration, const std::string& source_container, const std::string& peer);
  /// The session received `precopy-end`: its source may have frozen the container for it,
  /// so it is never superseded from here on.
  void pass_freeze(const std::string& migration);
  /// A new migration `by` of `source_container` from `peer` (docs/protocol.md, "A retry
  /// supersedes a session left waiting"): an earlier session of the same container and
  /// peer that only waits for its source to resume, before the freeze, is told to give up,
  /// and this returns once it ended (rolled back, as its ledger says). Waits up to `settle`
  /// for one that has not noticed its link is gone yet, or is ending anyway. Refused
  /// (Conflict) when that session is past the freeze, or still talks to its source.
  Status supersede(const std::string& source_container, const std::string& peer, const std::string& by,
                   std::chrono::milliseconds settle);
  /// Waits up to `grace` for the source to come back; the new connection said hello and
  /// asked for this migration.
  Result<transfer::Connection> await(const std::string& migration, std::chrono::milliseconds grace);
  /// A source came back: checks that it knows the migration's token and has the same
  /// certificate name as before, then hands `take()`'s connection to the waiting session.
  Status offer(const std::string& migration, const std::string& token, const std::string& identity,
               const std::function<transfer::Connection()>& take);
  /// Whether a new migration superseded `migration` (asked before its session ends).
  bool superseded(const std::string& migration);

 private:
  struct Entry {
    std::string token;
    std::string identity;
    std::function<void()> break_link;
    std::optional<transfer::Connection> offered;
    bool waiting = false;  // in await(): its link is known lost, and must not be broken again
    std::string source_container, peer;  // name_source(): empty until named, never superseded
    bool frozen = false;                 // pass_freeze()
    std::string superseded_by;           // a new migration of the same container took its place
  };
  void close(const std::string& migration);
  // The entry a new migration of `source_container` from `peer` would supersede, if any.
  std::map<std::string, Entry>::iterator earlier_session(const std::string& source_container, const std::string& peer,
                                                         const std::string& by);
  std::mutex mutex_;
  std::condition_variable changed_;  // an offer, a session that waits, is superseded or closed
  std::map<std::string, Entry> entries_;
};

/// The agent's one registry.
LinkResumes& link_resumes();

}  // namespace dockmig::migrate
