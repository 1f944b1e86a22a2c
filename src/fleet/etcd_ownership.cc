#include "fleet/etcd_ownership.h"

#include <ctime>
#include <iomanip>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "fleet/service_record.h"

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
  Result<int64_t> created = swap(service, 0, host_, migration);
  if (!created) return std::move(created.error()).wrap("creating the ownership record of `" + service + "`");
  spdlog::info("fleet: `{}` is now recorded as running on {}", service, host_);
  return created;
}

Result<int64_t> EtcdOwnership::take_over(const std::string& service, const std::string& source, int64_t revision,
                                         const std::string& migration) const {
  Result<int64_t> taken = swap(service, revision, host_, migration);
  if (!taken) return std::move(taken.error()).wrap("taking `" + service + "` over from `" + source + "`");
  return taken;
}

Status EtcdOwnership::hand_back(const std::string& service, const std::string& source, int64_t revision,
                                const std::string& migration) const {
  Result<int64_t> given = swap(service, revision, source, migration);
  if (!given) return std::move(given.error()).wrap("handing `" + service + "` back to `" + source + "`");
  return {};
}

Result<int64_t> EtcdOwnership::swap(const std::string& service, int64_t revision, const std::string& new_host,
                                    const std::string& migration) const {
  std::string value = encode({new_host, migration, now_utc()});
  Result<etcd::SwapOutcome> swapped = etcd_.put_if_mod_revision(service_key(service), revision, value);
  if (!swapped) return std::move(swapped.error()).wrap(at_etcd());
  if (!swapped->succeeded)
    return make_error(ErrorCode::Conflict, "the ownership record changed since revision " + std::to_string(revision) +
                                               " (it now holds " + named_by(swapped->current) + ")");
  return swapped->revision;
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
