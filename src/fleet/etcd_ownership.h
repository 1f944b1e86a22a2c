// migrate::Ownership on etcd: the service records of fleet/service_record.h, swapped with
// etcd::Client::put_if_mod_revision.
#pragma once

#include <chrono>

#include "etcd/client.h"
#include "fleet/service_record.h"
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
  Result<int64_t> keep(const std::string& service) const override;
  Result<std::string> owner(const std::string& service) const override;

 private:
  /// The compare-and-swap of the record from `revision` to `ours`; one that got no answer
  /// is settled before this returns (settle_unanswered).
  Result<int64_t> swap(const std::string& service, int64_t revision, const ServiceRecord& ours) const;
  /// A swap etcd answered: our own earlier write found there (a copy sent again by the
  /// client after a lost answer) is a success too.
  Result<int64_t> judge_answer(const etcd::SwapOutcome& answer, int64_t revision, const ServiceRecord& ours) const;
  /// A swap that got no answer: the record is read (for the patience) to learn whether it
  /// was applied; one still unchanged is fenced so that a late copy can never apply.
  Result<int64_t> settle_unanswered(const std::string& key, int64_t revision, const ServiceRecord& ours,
                                    const Error& unanswered) const;
  /// The fence: `stored` written back as it was, by a swap from its revision, which moves
  /// the revision past the one any late swap compares (so that it can never apply).
  Result<etcd::SwapOutcome> fence(const etcd::KeyValue& stored) const;
  /// What the record as stored says of the source's keep() (fleet::decide_keep): its
  /// revision once kept, nothing while it must be fenced, Conflict when it is not ours.
  Result<std::optional<int64_t>> judge_kept(const std::string& service, const std::optional<etcd::KeyValue>& stored,
                                            int64_t fenced_past) const;
  /// keep()'s fence of `stored`, which names this host (its revision becomes `fenced_past`):
  /// the new revision, nothing when it must be read again, or why it is not ours.
  Result<std::optional<int64_t>> fence_ours(const std::string& service, const etcd::KeyValue& stored,
                                            int64_t& fenced_past) const;
  /// The record found unchanged at `stored` was fenced; what that swap's answer says of ours.
  Result<int64_t> after_fence(const etcd::KeyValue& stored, const etcd::SwapOutcome& fenced,
                              const ServiceRecord& ours) const;
  Error outcome_unknown(const std::string& key, int64_t revision, const Error& unanswered,
                        const Error& last_failure) const;
  std::string at_etcd() const;

  etcd::Client etcd_;
  std::string host_;
  std::chrono::seconds patience_;
};

}  // namespace dockmig::fleet
