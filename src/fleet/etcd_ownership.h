// migrate::Ownership on etcd: the service records of fleet/service_record.h, swapped with
// etcd::Client::put_if_mod_revision.
#pragma once

#include <chrono>

#include "etcd/client.h"
#include "migrate/ownership.h"

namespace dockmig::fleet {

class EtcdOwnership final : public migrate::Ownership {
 public:
  /// `patience`: how long owner() keeps retrying while etcd cannot be reached.
  EtcdOwnership(etcd::Client etcd, std::string host, std::chrono::seconds patience = std::chrono::seconds(20))
      : etcd_(std::move(etcd)), host_(std::move(host)), patience_(patience) {}

  const std::string& host() const override { return host_; }
  Result<int64_t> claim(const std::string& service, const std::string& migration) const override;
  Result<int64_t> take_over(const std::string& service, const std::string& source, int64_t revision,
                            const std::string& migration) const override;
  Status hand_back(const std::string& service, const std::string& source, int64_t revision,
                   const std::string& migration) const override;
  Result<std::string> owner(const std::string& service) const override;

 private:
  Result<int64_t> swap(const std::string& service, int64_t revision, const std::string& new_host,
                       const std::string& migration) const;
  std::string at_etcd() const;

  etcd::Client etcd_;
  std::string host_;
  std::chrono::seconds patience_;
};

}  // namespace dockmig::fleet
