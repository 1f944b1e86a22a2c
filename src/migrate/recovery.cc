// Each source entry is settled under its lock, after reading it again (its own process
// may have settled it meanwhile), and removed from the journal only once settled. The
// phase decides who may act: before kHandingOver the destination cannot have started a
// copy, so the source resumes; from it on only the destination's ledger decides
// (docs/protocol.md, "Decisions that survive a crash").
#include "migrate/recovery.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "checkpoint/criu_log.h"
#include "checkpoint/docker_checkpoint.h"
#include "checkpoint/dump.h"
#include "checkpoint/lent_runc_config.h"
#include "docker/container_info.h"
#include "docker/engine_client.h"
#include "migrate/recovery_rule.h"
#include "migrate/restart_policy.h"
#include "migrate/session.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

Result<SourceState> source_state(const docker::EngineClient& engine, const JournalEntry& entry) {
  Result<json> inspect = engine.inspect_container(entry.container_id);
  if (!inspect && inspect.error().code == ErrorCode::NotFound) return SourceState::Gone;
  if (!inspect) return std::move(inspect.error());
  return docker::is_running(*inspect) ? SourceState::Running : SourceState::Stopped;
}

// Once CRIU logs a good dump the container's tasks are dead, but Docker's call that ran it
// may go on for a while, and dockerd says the container runs until it ends. Read then,
// "running" would have recover forget a source that is about to stop: no copy at all.
constexpr auto kCheckpointWindDown = std::chrono::seconds(60);
constexpr auto kWindDownPoll = std::chrono::milliseconds(500);

bool dump_finished(const docker::EngineClient& engine, const JournalEntry& entry) {
  Result<docker::DaemonInfo> daemon = engine.info();
  if (!daemon) return false;
  return checkpoint::DumpLogFollower(checkpoint::lent_work_dir(daemon->root_dir, entry.container_id) / "dump.log")
      .dump_finished();
}

/// The source's state once dockerd has caught up with a finished dump.
Result<SourceState> settled_source_state(const docker::EngineClient& engine, const JournalEntry& entry) {
  Result<SourceState> state = source_state(engine, entry);
  if (!state || *state != SourceState::Running || !dump_finished(engine, entry)) return state;
  spdlog::info("recover: CRIU finished dumping `{}`; waiting for dockerd to see it stop", entry.container);
  auto deadline = std::chrono::steady_clock::now() + kCheckpointWindDown;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kWindDownPoll);
    state = source_state(engine, entry);
    if (!state || *state != SourceState::Running) return state;
  }
  return make_error(ErrorCode::Timeout, "CRIU finished dumping `" + entry.container + "`, yet dockerd still says it " +
                                            "runs " + std::to_string(kCheckpointWindDown.count()) + " s later");
}

bool names(const JournalEntry& entry, const std::string& who) {
  return !who.empty() && (who == entry.container || who == entry.migration ||
                          (who.size() >= 12 && entry.container_id.starts_with(who)));
}

RecoveredMigration settled(const JournalEntry& entry, std::string outcome, std::string detail) {
  return {entry, std::move(outcome), std::move(detail), "", false};
}

RecoveredMigration in_doubt(const JournalEntry& entry, std::string detail, std::string next) {
  return {entry, "in_doubt", std::move(detail), std::move(next), true};
}

std::string unreachable_next(const JournalEntry& entry) {
  return "check whether `" + entry.container + "` runs on the destination (`docker ps` there) and whether its agent at " +
         entry.peer + " is up. Once that agent answers, `dockmig recover` settles this by itself. If the destination "
         "is gone for good: when the container does not run there, `dockmig recover --resume " + entry.container +
         "` resumes it here; when it does, `dockmig recover --abandon " + entry.container +
         "` forgets it and leaves the stopped source as it is";
}

// The fleet's record did not let the source resume: it names another host, or none, or
// could not be read and fenced.
std::string record_next(const JournalEntry& entry) {
  return "the fleet's record decides (`dockmig fleet where " + entry.container + "`): when it names another host, "
         "that host's agent keeps or starts its copy, and `dockmig recover --abandon " + entry.container +
         "` forgets this stopped source; when etcd could not be read, run `dockmig recover` with --etcd again once "
         "it answers";
}

RecoveredMigration resume(const docker::EngineClient& engine, const JournalEntry& entry, const std::string& why) {
  // A dockmig killed during the dump may have left runc.conf lent.
  Status repaired = checkpoint::repair_runc_criu_config();
  Result<docker::DaemonInfo> daemon = engine.info();
  // A dockmig killed while Docker's checkpoint call wound down left dockerd's dir unfilled.
  if (repaired && daemon)
    repaired = checkpoint::fill_checkpoint_dir(
        checkpoint::checkpoint_dir(daemon->root_dir, entry.container_id, entry.checkpoint),
        checkpoint::lent_images_dir(daemon->root_dir, entry.container_id));
  Result<json> resumed = !repaired ? Result<json>(std::move(repaired.error()))
                         : !daemon ? Result<json>(std::move(daemon.error()))
                                   : checkpoint::restore_container(engine, daemon->root_dir, entry.container_id,
                                                                   entry.checkpoint, entry.tcp);
  if (!resumed)
    return in_doubt(entry, why + ", but resuming it from checkpoint `" + entry.checkpoint +
                               "` failed: " + resumed.error().describe(),
                    "fix what the error names, then `dockmig recover --resume " + entry.container + "` tries again");
  put_back_restart_policy(engine, entry.container_id, entry.restart_policy);
  return settled(entry, "resumed", why + "; resumed here from its checkpoint `" + entry.checkpoint + "`");
}

// The source was never stopped (or is running again): it gets its restart policy back.
RecoveredMigration already_running(const docker::EngineClient& engine, const JournalEntry& entry,
                                   const std::string& why) {
  put_back_restart_policy(engine, entry.container_id, entry.restart_policy);
  return settled(entry, "already_running", why + "; the source runs already");
}

// The destination runs the copy: the source ends as after a successful migration.
RecoveredMigration finish_handover(const docker::EngineClient& engine, const JournalEntry& entry) {
  if (entry.keep_source) return settled(entry, "handed_over", "the destination runs it; the stopped source is kept");
  Status removed = engine.remove_container(entry.container_id, /*force=*/false);
  if (!removed)
    return settled(entry, "handed_over", "the destination runs it; removing the stopped source failed (" +
                                             removed.error().message + "): `docker rm " + entry.container + "`");
  return settled(entry, "handed_over", "the destination runs it; the stopped source was removed");
}

// What the destination's ledger says of the migration, into `facts`, and its text for a person.
std::string ask_destination(const JournalEntry& entry, const RecoveryRequest& request, SettlementFacts& facts) {
  facts.destination_asked = true;
  Result<std::string> answer = Session::await_settled_state(entry.peer, entry.migration, request.security);
  if (answer) {
    facts.destination_says = *answer;
    return "the destination says " + *answer;
  }
  return "the checkpoint was crossing to " + entry.peer + ", which could not be asked how it ended: " +
         answer.error().message;
}

// With a fleet, before a source whose checkpoint crossed runs again: the record fenced
// (Ownership::keep), so that no late swap of the destination's can apply; into `facts`.
std::string fence_record(const JournalEntry& entry, const RecoveryRequest& request, SettlementFacts& facts) {
  Result<int64_t> kept = request.ownership->keep(entry.container);
  facts.record = decide_rollback(kept);
  if (kept) return "the fleet's record names this host (fenced at revision " + std::to_string(*kept) + ")";
  return kept.error().code == ErrorCode::Conflict ? kept.error().message
                                                  : "the fleet's record cannot be read and fenced (" +
                                                        kept.error().message + ")";
}

RecoveredMigration settle(const RecoveryRequest& request, const JournalEntry& entry) {
  Result<docker::EngineClient> engine = docker::EngineClient::open(entry.docker);
  Result<SourceState> state =
      engine ? settled_source_state(*engine, entry) : Result<SourceState>(std::move(engine.error()));
  if (!state)
    return in_doubt(entry, "cannot ask the source's dockerd (" + entry.docker + "): " + state.error().message,
                    "start dockerd, then run `dockmig recover` again");
  SettlementFacts facts;
  facts.phase = entry.phase;
  facts.source = *state;
  facts.person_abandons = names(entry, request.abandon);
  facts.person_resumes = names(entry, request.resume);
  facts.fleet = request.ownership != nullptr;
  std::string why = facts.person_resumes ? "at a person's word" : "the checkpoint never crossed to the destination";
  Settlement settlement = decide_settlement(facts);
  if (settlement == Settlement::AskDestination) {
    why = ask_destination(entry, request, facts);
    settlement = decide_settlement(facts);
  }
  if (settlement == Settlement::FenceRecord) {
    why += "; " + fence_record(entry, request, facts);
    settlement = decide_settlement(facts);
  }
  switch (settlement) {
    case Settlement::Abandon:
      return settled(entry, "abandoned", "forgotten at a person's word; the container was left as it is");
    case Settlement::Gone: return settled(entry, "container_gone", "the source container no longer exists");
    case Settlement::Resume: return resume(*engine, entry, why);
    case Settlement::KeepRunning: return already_running(*engine, entry, why);
    case Settlement::HandOver: return finish_handover(*engine, entry);
    case Settlement::TwoCopies:
      return in_doubt(entry, "the destination committed its copy, but the source runs too: two copies run",
                      "stop one of them by hand (`docker stop " + entry.container + "` here, or there), then "
                      "`dockmig recover --abandon " + entry.container + "`");
    case Settlement::AskDestination:
    case Settlement::FenceRecord:
    case Settlement::InDoubt: break;
  }
  return in_doubt(entry, why, facts.record ? record_next(entry) : unreachable_next(entry));
}

// Under the entry's lock: nothing when its own process settled it meanwhile.
std::optional<RecoveredMigration> settle_locked(const Journal& journal, const RecoveryRequest& request,
                                                const JournalEntry& listed) {
  Result<std::optional<JournalLock>> lock = JournalLock::try_acquire(journal, "source", listed.migration);
  if (!lock) return in_doubt(listed, lock.error().message, "");
  if (!*lock) return settled(listed, "busy", "a running dockmig holds it and settles it itself");
  Result<std::optional<JournalEntry>> entry = journal.read("source", listed.migration);
  if (!entry) return in_doubt(listed, entry.error().describe(), "");
  if (!*entry) return std::nullopt;
  RecoveredMigration done = settle(request, **entry);
  if (done.in_doubt) return done;
  if (Status removed = journal.remove("source", listed.migration); !removed)
    done.detail += "; removing its journal entry failed: " + removed.error().message;
  (*lock)->remove_file();
  return done;
}

}  // namespace

bool RecoveryReport::in_doubt() const {
  if (!unreadable.empty()) return true;
  for (const RecoveredMigration& migration : migrations)
    if (migration.in_doubt) return true;
  return false;
}

Result<RecoveryReport> recover_sources(const RecoveryRequest& request) {
  Journal journal = Journal::in_state_dir(request.state_dir);
  JournalListing listing = journal.list("source");
  for (const std::string& who : {request.resume, request.abandon}) {
    bool found = who.empty();
    for (const JournalEntry& entry : listing.entries) found = found || names(entry, who);
    if (!found)
      return make_error(ErrorCode::NotFound, "no migration journaled in `" + journal.dir().string() + "` names `" +
                                                 who + "`", "`dockmig recover` alone lists what is in doubt");
  }
  RecoveryReport report;
  report.unreadable = std::move(listing.unreadable);
  for (const JournalEntry& entry : listing.entries)
    if (std::optional<RecoveredMigration> done = settle_locked(journal, request, entry))
      report.migrations.push_back(std::move(*done));
  return report;
}

json to_json(const RecoveryReport& report) {
  json migrations = json::array();
  for (const RecoveredMigration& done : report.migrations)
    migrations.push_back({{"migration", done.entry.migration}, {"container", done.entry.container},
                          {"destination", done.entry.peer}, {"phase", done.entry.phase},
                          {"outcome", done.outcome}, {"detail", done.detail}, {"next", done.next},
                          {"in_doubt", done.in_doubt}});
  json unreadable = json::array();
  for (const Error& error : report.unreadable) unreadable.push_back(error.describe());
  return {{"migrations", migrations}, {"unreadable", unreadable}, {"in_doubt", report.in_doubt()}};
}

std::string to_text(const RecoveryReport& report) {
  if (report.migrations.empty() && report.unreadable.empty()) return "nothing in doubt: no migration is journaled\n";
  std::string text;
  for (const RecoveredMigration& done : report.migrations) {
    text += done.entry.container + " (migration " + done.entry.migration + " to " + done.entry.peer + ", " +
            done.entry.phase + "): " + done.outcome + ": " + done.detail + "\n";
    if (!done.next.empty()) text += "  next: " + done.next + "\n";
  }
  for (const Error& error : report.unreadable) text += "unreadable: " + error.describe() + "\n";
  return text;
}

}  // namespace dockmig::migrate
