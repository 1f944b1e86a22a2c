// Keeping this host in the fleet. The thread renews the lease three times per TTL, so one
// lost renewal does not end it; each round also rewrites the record if the host changed.
// When a renewal finds the lease gone (etcd was away longer than the TTL) the host
// registers again under a new lease. Nothing the thread does may end the agent: errors are
// logged, once when etcd is lost and once when it is back, and retried on the next round.
#include "fleet/membership.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"

namespace dockmig::fleet {

Result<std::unique_ptr<Membership>> Membership::join(etcd::Client etcd, DescribeHost describe,
                                                     std::chrono::seconds ttl) {
  std::unique_ptr<Membership> membership(new Membership(std::move(etcd), std::move(describe), ttl));
  if (Status registered = membership->register_host(); !registered)
    return std::move(registered.error()).wrap("joining the fleet at etcd " + membership->etcd_.endpoints_text());
  membership->thread_ = std::jthread([raw = membership.get()](std::stop_token stop) { raw->run(stop); });
  return membership;
}

Membership::~Membership() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lease_ == 0) return;
  Status revoked = etcd_.revoke(lease_);
  if (!revoked) spdlog::warn("leaving the fleet: {} (the record ends with its lease)", revoked.error().message);
}

etcd::LeaseId Membership::lease() const {
  std::lock_guard lock(mutex_);
  return lease_;
}

Status Membership::register_host() {
  Result<HostRecord> record = describe_();
  if (!record) return std::move(record.error()).wrap("describing this host");
  record->lease_ttl_seconds = ttl_.count();
  Result<etcd::Lease> lease = etcd_.grant_lease(ttl_);
  if (!lease) return std::move(lease.error());
  Status put = etcd_.put(host_key(record->name), to_json(*record).dump(), lease->id);
  if (!put) {
    etcd_.revoke(lease->id).ignore("the lease ends by itself within its TTL");
    return put;
  }
  std::lock_guard lock(mutex_);
  lease_ = lease->id;
  written_ = std::move(*record);
  return {};
}

// One round: renew the lease and write the record if the host changed; when the lease has
// ended, register again under a new one.
void Membership::keep_registered() {
  if (lease() != 0) {
    Result<std::chrono::seconds> renewed = etcd_.keep_alive(lease());
    if (renewed) return refresh_record();
    if (renewed.error().code != ErrorCode::NotFound) return note_outage(renewed.error());
    spdlog::warn("fleet: the lease of {} has ended (etcd was out of reach longer than its TTL, or it was "
                 "revoked); registering again", written_.name);
    std::lock_guard lock(mutex_);
    lease_ = 0;
  }
  Status registered = register_host();
  if (!registered) return note_outage(registered.error());
  spdlog::warn("fleet: registered {} again at etcd {} (lease {})", written_.name, etcd_.endpoints_text(), lease());
  in_outage_ = false;
}

void Membership::refresh_record() {
  if (in_outage_) spdlog::warn("fleet: etcd {} answers again; {} is still registered", etcd_.endpoints_text(), written_.name);
  in_outage_ = false;
  Result<HostRecord> now = describe_();
  if (!now) return spdlog::warn("fleet: describing this host: {} (the record stays as it was)", now.error().message);
  now->lease_ttl_seconds = ttl_.count();
  if (!worth_rewriting(written_, *now)) return;
  Status put = etcd_.put(host_key(now->name), to_json(*now).dump(), lease());
  if (!put) return note_outage(put.error());
  written_ = std::move(*now);
}

void Membership::note_outage(const Error& error) {
  if (!in_outage_) spdlog::warn("fleet: lost etcd: {}; retrying every {} ms", error.message, period().count());
  else spdlog::debug("fleet: etcd still out of reach: {}", error.message);
  in_outage_ = true;
}

std::chrono::milliseconds Membership::period() const {
  return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(ttl_) / 3, std::chrono::seconds(1));
}

void Membership::run(std::stop_token stop) {
  std::mutex sleep_mutex;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(sleep_mutex);
      wake_.wait_for(lock, stop, period(), [] { return false; });
    }
    if (stop.stop_requested()) break;
    Status round = base::contain_exceptions("keeping this host in the fleet", [this]() -> Status {
      keep_registered();
      return {};
    });
    if (!round) spdlog::error("fleet: {}", round.error().message);
  }
}

}  // namespace dockmig::fleet
