#include "fleet/etcd_ownership.h"

#include <ctime>
#include <iomanip>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "faults/fault_points.h"

namespace dockmig::fleet {
namespace {

std::string now_utc() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::ostringstream text;
  text << std::put_time(&utc, "%FT%TZ");
  return text.str();
}

// The record as stored, or none; an unreadable one is an error (nothing may be guessed).
Result<std::optional<ServiceRecord>> decode_stored(const std::optional<etcd::KeyValue>& stored) {
  if (!stored) return std::optional<ServiceRecord>();
  Result<ServiceRecord> record = decode_service_record(stored->value);
  if (!record) return std::move(record.error()).wrap("`" + stored->key + "`");
  return std::optional<ServiceRecord>(std::move(*record));
}

std::string named_by(const std::optional<etcd::KeyValue>& current) {
  if (!current) return "no record";
  Result<ServiceRecord> record = decode_service_record(current->value);
  return record ? "`" + record->host + "`" : "an unreadable record";
}

Error changed_since(int64_t revision, const std::optional<etcd::KeyValue>& current) {
  return make_error(ErrorCode::Conflict, "the ownership record changed since revision " + std::to_string(revision) +
                                             " (it now holds " + named_by(current) + ")");
}

// What the record as stored says of our swap from `revision`; an unreadable record is
// someone else's write.
SwapReadBack read_back(const std::optional<etcd::KeyValue>& stored, int64_t revision, const ServiceRecord& ours) {
  if (!stored) return read_back_swap(std::nullopt, 0, revision, ours.host, ours.migration);
  Result<ServiceRecord> record = decode_service_record(stored->value);
  if (!record) return SwapReadBack::Changed;
  return read_back_swap(*record, stored->mod_revision, revision, ours.host, ours.migration);
}

// No answer came (a timeout, a reset), or etcd answered unavailable: the swap may have been
// applied, or may still be. The client's error does not say whether the request left at
// all (a refused connection is Network too); the read that settles it tells.
bool may_have_applied(const Error& error) {
  return error.code == ErrorCode::Network || error.code == ErrorCode::Timeout;
}

void pause_before_reading_again(const Error& why) {
  spdlog::warn("fleet: {}; reading the ownership record again", why.describe());
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace

std::string EtcdOwnership::at_etcd() const { return "the fleet's ownership record at etcd " + etcd_.endpoints_text(); }

Result<int64_t> EtcdOwnership::claim(const std::string& service, const std::string& migration) const {
  Result<std::optional<etcd::KeyValue>> stored = etcd_.get(service_key(service));
  if (!stored) return std::move(stored.error()).wrap("reading " + at_etcd() + " of `" + service + "`");
  Result<std::optional<ServiceRecord>> record = decode_stored(*stored);
  if (!record) return std::move(record.error());
  switch (decide_claim(*record, host_)) {
    case ClaimDecision::Keep:
      return (*stored)->mod_revision;
    case ClaimDecision::Refuse:
      return make_error(ErrorCode::Conflict,
                        "the fleet says `" + service + "` runs on `" + (*record)->host + "`, not on this host (`" +
                            host_ + "`)",
                        "hand it off from `" + (*record)->host + "` (`dockmig fleet where " + service +
                            "`); if that record is stale, fix it in etcd (" + service_key(service) + ")");
    case ClaimDecision::Create:
      break;
  }
  Result<int64_t> created = swap(service, 0, {host_, migration, now_utc()});
  if (!created) return std::move(created.error()).wrap("creating the ownership record of `" + service + "`");
  spdlog::info("fleet: `{}` is now recorded as running on {}", service, host_);
  return created;
}

Result<int64_t> EtcdOwnership::take_over(const std::string& service, const std::string& source, int64_t revision,
                                         const std::string& migration) const {
  Result<int64_t> taken = swap(service, revision, {host_, migration, now_utc()});
  if (!taken) return std::move(taken.error()).wrap("taking `" + service + "` over from `" + source + "`");
  return taken;
}

Status EtcdOwnership::hand_back(const std::string& service, const std::string& source, int64_t revision,
                                const std::string& migration) const {
  Result<int64_t> given = swap(service, revision, {source, migration, now_utc()});
  if (!given) return std::move(given.error()).wrap("handing `" + service + "` back to `" + source + "`");
  return {};
}

Result<int64_t> EtcdOwnership::swap(const std::string& service, int64_t revision, const ServiceRecord& ours) const {
  std::string key = service_key(service);
  Result<etcd::SwapOutcome> swapped = etcd_.put_if_mod_revision(key, revision, encode(ours));
  DOCKMIG_FAULT_POINT("fleet.swap-answer-lost", [&swapped] {
    if (swapped) swapped = make_error(ErrorCode::Network, "the swap's answer was dropped (fleet.swap-answer-lost)");
  });
  if (swapped) return judge_answer(*swapped, revision, ours);
  if (!may_have_applied(swapped.error())) return std::move(swapped.error()).wrap(at_etcd());
  spdlog::warn("fleet: the swap of {} from revision {} got no answer ({}); reading it back", key, revision,
               swapped.error().message);
  return settle_unanswered(key, revision, ours, swapped.error());
}

Result<int64_t> EtcdOwnership::judge_answer(const etcd::SwapOutcome& answer, int64_t revision,
                                            const ServiceRecord& ours) const {
  if (answer.succeeded) return answer.revision;
  if (read_back(answer.current, revision, ours) != SwapReadBack::Ours) return changed_since(revision, answer.current);
  spdlog::info("fleet: the swap from revision {} found its own earlier write (revision {}): it was applied", revision,
               answer.current->mod_revision);
  return answer.current->mod_revision;
}

Result<int64_t> EtcdOwnership::settle_unanswered(const std::string& key, int64_t revision, const ServiceRecord& ours,
                                                 const Error& unanswered) const {
  auto give_up_at = std::chrono::steady_clock::now() + patience_;
  for (;;) {
    Result<std::optional<etcd::KeyValue>> stored = etcd_.get(key);
    Error failed = stored ? Error{} : std::move(stored.error());
    if (stored) {
      switch (read_back(*stored, revision, ours)) {
        case SwapReadBack::Ours:
          spdlog::info("fleet: the unanswered swap of {} was applied (revision {})", key, (*stored)->mod_revision);
          return (*stored)->mod_revision;
        case SwapReadBack::Changed:
          return changed_since(revision, *stored);
        case SwapReadBack::Unchanged:
          break;
      }
      // From no record only a claim swaps, naming the host that runs the service: a late
      // copy of it names the same host, so there is nothing to fence.
      if (!*stored)
        return make_error(ErrorCode::Conflict, "the swap creating " + key + " got no answer and was not applied");
      // Any failure of the fence leaves a late copy possible: read and fence again.
      Result<etcd::SwapOutcome> fenced = fence(**stored);
      if (fenced) return after_fence(**stored, *fenced, ours);
      failed = std::move(fenced.error()).wrap("writing the record back as it was");
    }
    if (std::chrono::steady_clock::now() >= give_up_at) return outcome_unknown(key, revision, unanswered, failed);
    pause_before_reading_again(failed);
  }
}

Error EtcdOwnership::outcome_unknown(const std::string& key, int64_t revision, const Error& unanswered,
                                     const Error& last_failure) const {
  return make_error(migrate::kSwapOutcomeUnknown,
                    "the swap of " + at_etcd() + " (" + key + ") from revision " + std::to_string(revision) +
                        " got no answer (" + unanswered.message + ") and the record could not be read back for " +
                        std::to_string(patience_.count()) + " s (" + last_failure.message +
                        "): whether it was applied is unknown",
                    "the record decides once etcd answers (`dockmig fleet where`); check etcd at " +
                        etcd_.endpoints_text());
}

Result<int64_t> EtcdOwnership::after_fence(const etcd::KeyValue& stored, const etcd::SwapOutcome& fenced,
                                           const ServiceRecord& ours) const {
  // Failed: our late copy came before the fence (the swap was applied), or another write did.
  if (!fenced.succeeded) return judge_answer(fenced, stored.mod_revision, ours);
  spdlog::info("fleet: the unanswered swap of {} was not applied; the record is written back as it was (revision {} "
               "to {}), so a late copy cannot apply",
               stored.key, stored.mod_revision, fenced.revision);
  return make_error(ErrorCode::Conflict, "the swap of " + stored.key + " from revision " +
                                             std::to_string(stored.mod_revision) +
                                             " got no answer and was not applied; the record was written back as "
                                             "it was (revision " + std::to_string(fenced.revision) +
                                             "), so it can no longer apply");
}

Result<etcd::SwapOutcome> EtcdOwnership::fence(const etcd::KeyValue& stored) const {
  return etcd_.put_if_mod_revision(stored.key, stored.mod_revision, stored.value);
}

Result<int64_t> EtcdOwnership::keep(const std::string& service) const {
  std::string key = service_key(service);
  auto give_up_at = std::chrono::steady_clock::now() + patience_;
  int64_t fenced_past = 0;  // the revision read before the last fence sent, applied or not
  for (;;) {
    Result<std::optional<etcd::KeyValue>> stored = etcd_.get(key);
    Error failed = stored ? Error{} : std::move(stored.error());
    if (stored) {
      Result<std::optional<int64_t>> kept = judge_kept(service, *stored, fenced_past);
      if (kept && !*kept) kept = fence_ours(service, **stored, fenced_past);
      if (kept && *kept) return **kept;
      // Not ours, or unreadable: final. A fence without an answer may have applied: read again.
      if (!kept && !may_have_applied(kept.error())) return std::move(kept.error());
      if (!kept) failed = std::move(kept.error());
    }
    if (std::chrono::steady_clock::now() >= give_up_at)
      return std::move(failed).wrap("fencing " + at_etcd() + " of `" + service + "` for " +
                                    std::to_string(patience_.count()) + " s");
    pause_before_reading_again(failed);
  }
}

Result<std::optional<int64_t>> EtcdOwnership::fence_ours(const std::string& service, const etcd::KeyValue& stored,
                                                         int64_t& fenced_past) const {
  fenced_past = stored.mod_revision;
  Result<etcd::SwapOutcome> fenced = fence(stored);
  if (!fenced) return std::move(fenced.error()).wrap("writing the record back as it was");
  // Failed: another write came first (a late take-over, say), and it decides.
  if (!fenced->succeeded) return judge_kept(service, fenced->current, fenced_past);
  spdlog::info("fleet: the record of `{}` names this host; written back as it was (revision {} to {}), so no "
               "earlier swap can apply any more",
               service, stored.mod_revision, fenced->revision);
  return std::optional<int64_t>(fenced->revision);
}

Result<std::optional<int64_t>> EtcdOwnership::judge_kept(const std::string& service,
                                                         const std::optional<etcd::KeyValue>& stored,
                                                         int64_t fenced_past) const {
  Result<std::optional<ServiceRecord>> record = decode_stored(stored);
  if (!record) return std::move(record.error());
  switch (decide_keep(*record, stored ? stored->mod_revision : 0, fenced_past, host_)) {
    case KeepStep::Kept:
      return std::optional<int64_t>(stored->mod_revision);
    case KeepStep::Fence:
      return std::optional<int64_t>();
    case KeepStep::Elsewhere:
      break;
  }
  return make_error(ErrorCode::Conflict, "the fleet's ownership record of `" + service + "` names " +
                                             (*record ? "`" + (*record)->host + "`" : "no host") +
                                             ", not this host (`" + host_ + "`)");
}

Result<std::string> EtcdOwnership::owner(const std::string& service) const {
  auto give_up_at = std::chrono::steady_clock::now() + patience_;
  for (;;) {
    Result<std::optional<etcd::KeyValue>> stored = etcd_.get(service_key(service));
    if (stored) {
      Result<std::optional<ServiceRecord>> record = decode_stored(*stored);
      if (!record) return std::move(record.error());
      return *record ? (*record)->host : std::string();
    }
    if (std::chrono::steady_clock::now() >= give_up_at)
      return std::move(stored.error()).wrap("reading " + at_etcd() + " of `" + service + "` for " +
                                            std::to_string(patience_.count()) + " s");
    spdlog::warn("fleet: {}; retrying", stored.error().describe());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace dockmig::fleet
