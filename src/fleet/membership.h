#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include "dockmig/result.h"
#include "etcd/client.h"
#include "fleet/host_record.h"

namespace dockmig::fleet {

/// Describes this host as it is now: its containers, images and free disk change.
using DescribeHost = std::function<Result<HostRecord>()>;

/// This host's place in the fleet: its record in etcd under a lease that a background
/// thread keeps alive, rewriting the record when the host changes. When the process dies
/// the lease ends and the record with it.
class Membership {
 public:
  /// Registers the host; an etcd that cannot be reached is an error here. Later losses of
  /// etcd are logged and retried: the host registers again when etcd is back.
  static Result<std::unique_ptr<Membership>> join(etcd::Client etcd, DescribeHost describe,
                                                  std::chrono::seconds ttl);
  /// Stops the keep-alive and revokes the lease: the host leaves the fleet at once.
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  etcd::LeaseId lease() const;

 private:
  Membership(etcd::Client etcd, DescribeHost describe, std::chrono::seconds ttl)
      : etcd_(std::move(etcd)), describe_(std::move(describe)), ttl_(ttl) {}
  Status register_host();
  void keep_registered();
  void refresh_record();
  void run(std::stop_token stop);
  void note_outage(const Error& error);
  std::chrono::milliseconds period() const;  // between two renewals

  etcd::Client etcd_;
  DescribeHost describe_;
  std::chrono::seconds ttl_;
  HostRecord written_;        // what etcd holds under our lease
  etcd::LeaseId lease_ = 0;   // 0: none (lost, to be granted again)
  bool in_outage_ = false;
  mutable std::mutex mutex_;  // lease_, for lease()
  std::condition_variable_any wake_;
  std::jthread thread_;
};

}  // namespace dockmig::fleet
