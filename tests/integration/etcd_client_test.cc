// The etcd client and the fleet membership against a real etcd: the one whose client URL
// is in DOCKMIG_ETCD (tests/integration/etcd_client.sh runs this on the bed's etcd). The
// compaction test compacts that etcd's history up to its revision then.
#include <cstdlib>
#include <stop_token>
#include <thread>

#include <gtest/gtest.h>

#include "etcd/client.h"
#include "faults/fault_points.h"
#include "fleet/etcd_ownership.h"
#include "fleet/membership.h"
#include "fleet/service_record.h"

namespace dockmig {
namespace {

using std::chrono::seconds;

class RealEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("DOCKMIG_ETCD");
    if (url == nullptr) GTEST_SKIP() << "DOCKMIG_ETCD is not set: no etcd to test against";
    Result<etcd::Client> client = etcd::Client::open(url);
    ASSERT_TRUE(client) << client.error().describe();
    client_.emplace(std::move(*client));
    // A prefix of its own per run, so runs never see each other's keys.
    prefix_ = "/dockmig-test/" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "/";
  }
  const etcd::Client& etcd() { return *client_; }
  std::string key(const std::string& name) { return prefix_ + name; }

  std::optional<etcd::Client> client_;
  std::string prefix_;
};

TEST_F(RealEtcd, PutThenGetGivesTheValueBack) {
  ASSERT_TRUE(etcd().put(key("a"), "value with \xff bytes"));
  Result<std::optional<etcd::KeyValue>> got = etcd().get(key("a"));
  ASSERT_TRUE(got) << got.error().describe();
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->value, "value with \xff bytes");
  EXPECT_GT((*got)->mod_revision, 0);
  Result<std::optional<etcd::KeyValue>> missing = etcd().get(key("missing"));
  ASSERT_TRUE(missing) << missing.error().describe();
  EXPECT_FALSE(*missing);
}

TEST_F(RealEtcd, GetPrefixFindsOnlyKeysUnderThePrefix) {
  ASSERT_TRUE(etcd().put(key("hosts/a"), "1"));
  ASSERT_TRUE(etcd().put(key("hosts/b"), "2"));
  ASSERT_TRUE(etcd().put(key("hostsx"), "3"));
  Result<std::vector<etcd::KeyValue>> hosts = etcd().get_prefix(key("hosts/"));
  ASSERT_TRUE(hosts) << hosts.error().describe();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].key, key("hosts/a"));
  EXPECT_EQ((*hosts)[1].value, "2");
}

TEST_F(RealEtcd, AKeyUnderALeaseGoesWithTheRevokedLease) {
  Result<etcd::Lease> lease = etcd().grant_lease(seconds(30));
  ASSERT_TRUE(lease) << lease.error().describe();
  ASSERT_TRUE(etcd().put(key("leased"), "x", lease->id));
  Result<seconds> renewed = etcd().keep_alive(lease->id);
  ASSERT_TRUE(renewed) << renewed.error().describe();
  EXPECT_EQ(*renewed, seconds(30));
  ASSERT_TRUE(etcd().revoke(lease->id));
  Result<std::optional<etcd::KeyValue>> gone = etcd().get(key("leased"));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  Result<seconds> after = etcd().keep_alive(lease->id);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::NotFound);
}

TEST_F(RealEtcd, AKeyUnderALeaseEndsWhenNobodyRenewsIt) {
  Result<etcd::Lease> lease = etcd().grant_lease(seconds(2));
  ASSERT_TRUE(lease) << lease.error().describe();
  ASSERT_TRUE(etcd().put(key("short"), "x", lease->id));
  std::this_thread::sleep_for(seconds(4));
  Result<std::optional<etcd::KeyValue>> gone = etcd().get(key("short"));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(RealEtcd, PutUnderAnUnknownLeaseIsNotFoundAndNamesTheEndpoint) {
  Status put = etcd().put(key("x"), "x", 12345);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::NotFound);
  EXPECT_NE(put.error().message.find(etcd().endpoints().front()), std::string::npos) << put.error().message;
  EXPECT_NE(put.error().message.find("lease not found"), std::string::npos) << put.error().message;
}

TEST_F(RealEtcd, OnlyTheFirstOfTwoSwapsFromTheSameRevisionWins) {
  Result<etcd::SwapOutcome> created = etcd().put_if_mod_revision(key("owner"), 0, "edge-a");
  ASSERT_TRUE(created) << created.error().describe();
  ASSERT_TRUE(created->succeeded);
  Result<std::optional<etcd::KeyValue>> record = etcd().get(key("owner"));
  ASSERT_TRUE(record && *record);
  int64_t seen = (*record)->mod_revision;

  Result<etcd::SwapOutcome> first = etcd().put_if_mod_revision(key("owner"), seen, "edge-b");
  Result<etcd::SwapOutcome> second = etcd().put_if_mod_revision(key("owner"), seen, "edge-c");
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->succeeded);
  EXPECT_FALSE(second->succeeded);
  ASSERT_TRUE(second->current);
  EXPECT_EQ(second->current->value, "edge-b");
  EXPECT_EQ(second->current->mod_revision, first->revision);
  Result<etcd::SwapOutcome> recreate = etcd().put_if_mod_revision(key("owner"), 0, "edge-d");
  ASSERT_TRUE(recreate);
  EXPECT_FALSE(recreate->succeeded);
}

TEST_F(RealEtcd, AnUnreachableEndpointIsSkippedForTheNextOne) {
  Result<etcd::Client> two = etcd::Client::open("http://127.0.0.1:9," + etcd().endpoints().front());
  ASSERT_TRUE(two);
  EXPECT_TRUE(two->put(key("failover"), "x"));
  Result<etcd::Client> none = etcd::Client::open("http://127.0.0.1:9", {}, std::chrono::milliseconds(500));
  ASSERT_TRUE(none);
  Status put = none->put(key("x"), "x");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::Network);
  EXPECT_NE(put.error().message.find("http://127.0.0.1:9"), std::string::npos) << put.error().message;
}

// The fleet's ownership swaps on a service of their own (the real /dockmig/services/ prefix,
// a name unique per run), its record removed afterwards.
class RealOwnership : public RealEtcd {
 protected:
  void SetUp() override {
    RealEtcd::SetUp();
    if (IsSkipped()) return;
    service_ = "test-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override {
    if (!client_) return;
    nlohmann::json range = {{"key", etcd::base64_encode(fleet::service_key(service_))}};
    Result<nlohmann::json> removed = etcd().call("/v3/kv/deleterange", range);
    EXPECT_TRUE(removed) << removed.error().describe();
  }
  // The record as stored: who it names, and its mod revision.
  std::pair<std::string, int64_t> record() {
    Result<std::optional<etcd::KeyValue>> stored = etcd().get(fleet::service_key(service_));
    if (!stored || !*stored) return {"", 0};
    Result<fleet::ServiceRecord> decoded = fleet::decode_service_record((*stored)->value);
    return {decoded ? decoded->host : "unreadable", (*stored)->mod_revision};
  }
  std::string service_;
};

TEST_F(RealOwnership, ASwapThatMeetsItsOwnEarlierWriteIsTheSwapAndAnotherHandoffIsRefused) {
  fleet::EtcdOwnership source(etcd(), "edge-a"), destination(etcd(), "edge-b"), third(etcd(), "edge-c");
  Result<int64_t> claimed = source.claim(service_, "m0");
  ASSERT_TRUE(claimed) << claimed.error().describe();
  Result<int64_t> taken = destination.take_over(service_, "edge-a", *claimed, "m1");
  ASSERT_TRUE(taken) << taken.error().describe();
  // The same take-over again (a copy sent again after a lost answer): a conflict with
  // the record naming this host by this handoff, which is this swap, at its revision.
  Result<int64_t> again = destination.take_over(service_, "edge-a", *claimed, "m1");
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(*again, *taken);
  Result<int64_t> other = third.take_over(service_, "edge-a", *claimed, "m2");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::Conflict);
  EXPECT_NE(other.error().message.find("`edge-b`"), std::string::npos) << other.error().message;
  EXPECT_EQ(record(), std::make_pair(std::string("edge-b"), *taken));
}

// The source's fence before it resumes: a take-over from the revision it claimed, arriving
// late (a slow etcd, a destination that swaps after the link broke), can no longer apply.
TEST_F(RealOwnership, ALateTakeOverAfterTheSourcesFenceIsAConflict) {
  fleet::EtcdOwnership source(etcd(), "edge-a"), destination(etcd(), "edge-b");
  Result<int64_t> claimed = source.claim(service_, "m1");
  ASSERT_TRUE(claimed) << claimed.error().describe();
  Result<int64_t> kept = source.keep(service_);
  ASSERT_TRUE(kept) << kept.error().describe();
  EXPECT_GT(*kept, *claimed);
  EXPECT_EQ(record(), std::make_pair(std::string("edge-a"), *kept));
  Result<int64_t> late = destination.take_over(service_, "edge-a", *claimed, "m1");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::Conflict) << late.error().describe();
  EXPECT_NE(late.error().message.find("now holds `edge-a`"), std::string::npos) << late.error().message;
  EXPECT_EQ(record(), std::make_pair(std::string("edge-a"), *kept));
  // Fenced again (a second rollback, a `dockmig recover`): still kept, at a newer revision.
  Result<int64_t> again = source.keep(service_);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_GT(*again, *kept);
}

TEST_F(RealOwnership, AfterATakeOverTheSourcesFenceSaysTheDestinationOwnsIt) {
  fleet::EtcdOwnership source(etcd(), "edge-a"), destination(etcd(), "edge-b");
  Result<int64_t> claimed = source.claim(service_, "m1");
  ASSERT_TRUE(claimed) << claimed.error().describe();
  Result<int64_t> taken = destination.take_over(service_, "edge-a", *claimed, "m1");
  ASSERT_TRUE(taken) << taken.error().describe();
  Result<int64_t> kept = source.keep(service_);
  ASSERT_FALSE(kept);
  EXPECT_EQ(kept.error().code, ErrorCode::Conflict) << kept.error().describe();
  EXPECT_NE(kept.error().message.find("names `edge-b`"), std::string::npos) << kept.error().message;
  EXPECT_EQ(record(), std::make_pair(std::string("edge-b"), *taken));  // not written
}

TEST_F(RealOwnership, TheFenceOfAMissingRecordNeitherKeepsNorCreatesIt) {
  fleet::EtcdOwnership source(etcd(), "edge-a");
  Result<int64_t> kept = source.keep(service_);
  ASSERT_FALSE(kept);
  EXPECT_EQ(kept.error().code, ErrorCode::Conflict) << kept.error().describe();
  EXPECT_NE(kept.error().message.find("names no host"), std::string::npos) << kept.error().message;
  EXPECT_EQ(record(), std::make_pair(std::string(), int64_t{0}));
}

// The destination's restore failed after its swap: it hands the record back and the source
// fences it. A copy of the hand-back sent again after that (its answer was lost) finds the
// record naming the source by its handoff at a newer revision: that is the hand-back.
TEST_F(RealOwnership, AHandBackSentAgainAfterTheSourcesFenceIsStillTheHandBack) {
  fleet::EtcdOwnership source(etcd(), "edge-a"), destination(etcd(), "edge-b");
  Result<int64_t> claimed = source.claim(service_, "m0");
  ASSERT_TRUE(claimed) << claimed.error().describe();
  Result<int64_t> taken = destination.take_over(service_, "edge-a", *claimed, "m1");
  ASSERT_TRUE(taken) << taken.error().describe();
  ASSERT_TRUE(destination.hand_back(service_, "edge-a", *taken, "m1"));
  Result<int64_t> kept = source.keep(service_);
  ASSERT_TRUE(kept) << kept.error().describe();
  Status again = destination.hand_back(service_, "edge-a", *taken, "m1");
  EXPECT_TRUE(again) << again.error().describe();
  EXPECT_EQ(record(), std::make_pair(std::string("edge-a"), *kept));
}

#if DOCKMIG_FAULT_POINTS
// Armed in this process only for the test's swaps.
struct ArmedPoints {
  explicit ArmedPoints(const char* spec) {
    ::setenv("DOCKMIG_FAULTS", spec, 1);
    EXPECT_TRUE(faults::arm_from_environment());
  }
  ~ArmedPoints() {
    ::unsetenv("DOCKMIG_FAULTS");
    EXPECT_TRUE(faults::arm_from_environment());
  }
};

TEST_F(RealOwnership, ASwapWhoseAnswerWasLostAfterEtcdAppliedItIsSettledAsApplied) {
  fleet::EtcdOwnership source(etcd(), "edge-a"), destination(etcd(), "edge-b");
  Result<int64_t> claimed = source.claim(service_, "m0");
  ASSERT_TRUE(claimed) << claimed.error().describe();
  ArmedPoints lost("fleet.swap-answer-lost=drop-link");
  Result<int64_t> taken = destination.take_over(service_, "edge-a", *claimed, "m1");
  ASSERT_TRUE(taken) << taken.error().describe();
  EXPECT_EQ(record(), std::make_pair(std::string("edge-b"), *taken));
  // Handing it back, the answer lost again: the record names the source again.
  ASSERT_TRUE(destination.hand_back(service_, "edge-a", *taken, "m1"));
  EXPECT_EQ(record().first, "edge-a");
  // A swap that lost to another write, its answer lost: a conflict, not a success.
  Result<int64_t> stale = destination.take_over(service_, "edge-a", *claimed, "m3");
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::Conflict) << stale.error().describe();
  EXPECT_EQ(record().first, "edge-a");
}
#endif

// Watches `prefix` from `from` on a thread until `count` events came or 10 s passed.
std::vector<etcd::WatchEvent> watch_for(const etcd::Client& client, const std::string& prefix, int64_t from,
                                        size_t count, Status* outcome) {
  std::vector<etcd::WatchEvent> seen;
  std::stop_source stop;
  std::jthread deadline([&stop](std::stop_token own) {
    for (int i = 0; i < 100 && !own.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  *outcome = client.watch_prefix(
      prefix, from,
      [&](const std::vector<etcd::WatchEvent>& events) {
        seen.insert(seen.end(), events.begin(), events.end());
        return seen.size() < count;
      },
      stop.get_token());
  return seen;
}

TEST_F(RealEtcd, AWatchFromARevisionSeesEachLaterChangeOnce) {
  ASSERT_TRUE(etcd().put(key("w/a"), "1"));
  Result<etcd::RangeAnswer> read = etcd().get_prefix_at(key("w/"));
  ASSERT_TRUE(read) << read.error().describe();
  ASSERT_EQ(read->kvs.size(), 1u);
  EXPECT_GE(read->revision, read->kvs[0].mod_revision);
  ASSERT_TRUE(etcd().put(key("w/a"), "2"));
  ASSERT_TRUE(etcd().put(key("w/b"), "3"));
  Status outcome;
  std::vector<etcd::WatchEvent> seen = watch_for(etcd(), key("w/"), read->revision + 1, 2, &outcome);
  ASSERT_TRUE(outcome) << outcome.error().describe();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kv.value, "2");
  ASSERT_TRUE(seen[0].previous);
  EXPECT_EQ(seen[0].previous->value, "1");
  EXPECT_EQ(seen[1].kv.key, key("w/b"));
}

TEST_F(RealEtcd, AWatchOpensAtTheNextMemberWhenTheFirstIsDown) {
  Result<etcd::Client> two = etcd::Client::open("http://127.0.0.1:9," + etcd().endpoints().front());
  ASSERT_TRUE(two);
  Result<etcd::RangeAnswer> read = etcd().get_prefix_at(key("n/"));
  ASSERT_TRUE(read);
  ASSERT_TRUE(etcd().put(key("n/a"), "x"));
  Status outcome;
  std::vector<etcd::WatchEvent> seen = watch_for(*two, key("n/"), read->revision + 1, 1, &outcome);
  ASSERT_TRUE(outcome) << outcome.error().describe();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kv.key, key("n/a"));
}

TEST_F(RealEtcd, AWatchFromACompactedRevisionIsAConflictToReadAgain) {
  ASSERT_TRUE(etcd().put(key("c/a"), "1"));
  Result<etcd::RangeAnswer> old = etcd().get_prefix_at(key("c/"));
  ASSERT_TRUE(old);
  ASSERT_TRUE(etcd().put(key("c/a"), "2"));
  Result<etcd::RangeAnswer> now = etcd().get_prefix_at(key("c/"));
  ASSERT_TRUE(now);
  Result<nlohmann::json> compacted =
      etcd().call("/v3/kv/compaction", nlohmann::json{{"revision", std::to_string(now->revision)}});
  ASSERT_TRUE(compacted) << compacted.error().describe();
  Status outcome;
  watch_for(etcd(), key("c/"), old->revision, 1, &outcome);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::Conflict) << outcome.error().describe();
  EXPECT_NE(outcome.error().message.find("compacted"), std::string::npos) << outcome.error().message;
  EXPECT_NE(outcome.error().hint.find("read the current state again"), std::string::npos) << outcome.error().hint;
}

// A follower that reconnects reads the keys as they were at the last revision it saw;
// etcd's refusals of that read come back in terms of the revision.
TEST_F(RealEtcd, AReadAtAPastRevisionGivesTheKeysThenOrSaysWhyNot) {
  ASSERT_TRUE(etcd().put(key("p/a"), "1"));
  Result<etcd::RangeAnswer> then = etcd().get_prefix_at(key("p/"));
  ASSERT_TRUE(then);
  ASSERT_TRUE(etcd().put(key("p/a"), "2"));
  ASSERT_TRUE(etcd().put(key("p/b"), "3"));
  Result<etcd::RangeAnswer> past = etcd().get_prefix_at(key("p/"), then->revision);
  ASSERT_TRUE(past) << past.error().describe();
  ASSERT_EQ(past->kvs.size(), 1u);
  EXPECT_EQ(past->kvs[0].value, "1");
  Result<etcd::RangeAnswer> ahead = etcd().get_prefix_at(key("p/"), past->revision + 1000);
  ASSERT_FALSE(ahead);
  EXPECT_EQ(ahead.error().code, ErrorCode::InvalidInput) << ahead.error().describe();
  EXPECT_NE(ahead.error().message.find("is ahead of etcd's"), std::string::npos) << ahead.error().message;
  Result<nlohmann::json> compacted =
      etcd().call("/v3/kv/compaction", nlohmann::json{{"revision", std::to_string(past->revision)}});
  ASSERT_TRUE(compacted) << compacted.error().describe();
  Result<etcd::RangeAnswer> gone = etcd().get_prefix_at(key("p/"), then->revision);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::Conflict) << gone.error().describe();
  EXPECT_NE(gone.error().message.find("revision " + std::to_string(then->revision) + " is compacted away"),
            std::string::npos) << gone.error().message;
}

fleet::HostRecord test_host(const std::string& name) {
  fleet::HostRecord record;
  record.name = name;
  record.agent_address = "10.0.0.1:7070";
  return record;
}

// The membership writes at the real /dockmig/hosts/ prefix; the names are unique per run.
TEST_F(RealEtcd, MembershipRegistersAndLeavesWhenDestroyed) {
  std::string name = "test-" + std::to_string(::getpid()) + "-leaves";
  {
    Result<std::unique_ptr<fleet::Membership>> member =
        fleet::Membership::join(etcd(), [&] { return Result<fleet::HostRecord>(test_host(name)); }, seconds(5));
    ASSERT_TRUE(member) << member.error().describe();
    Result<std::optional<etcd::KeyValue>> record = etcd().get(fleet::host_key(name));
    ASSERT_TRUE(record && *record);
    EXPECT_EQ((*record)->lease, (*member)->lease());
  }
  Result<std::optional<etcd::KeyValue>> gone = etcd().get(fleet::host_key(name));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(RealEtcd, MembershipKeepsTheRecordBeyondTheTtlAndFollowsChanges) {
  std::string name = "test-" + std::to_string(::getpid()) + "-stays";
  std::mutex mutex;
  fleet::HostRecord now = test_host(name);
  auto describe = [&] {
    std::lock_guard lock(mutex);
    return Result<fleet::HostRecord>(now);
  };
  Result<std::unique_ptr<fleet::Membership>> member = fleet::Membership::join(etcd(), describe, seconds(2));
  ASSERT_TRUE(member) << member.error().describe();
  {
    std::lock_guard lock(mutex);
    now.containers = {"counter"};
  }
  std::this_thread::sleep_for(seconds(5));  // 2.5 TTLs
  Result<std::optional<etcd::KeyValue>> record = etcd().get(fleet::host_key(name));
  ASSERT_TRUE(record && *record) << "the record ended although its lease was renewed";
  EXPECT_NE((*record)->value.find("counter"), std::string::npos) << (*record)->value;
}

TEST_F(RealEtcd, MembershipRegistersAgainWhenItsLeaseWasLost) {
  std::string name = "test-" + std::to_string(::getpid()) + "-again";
  Result<std::unique_ptr<fleet::Membership>> member =
      fleet::Membership::join(etcd(), [&] { return Result<fleet::HostRecord>(test_host(name)); }, seconds(3));
  ASSERT_TRUE(member) << member.error().describe();
  etcd::LeaseId first = (*member)->lease();
  ASSERT_TRUE(etcd().revoke(first));  // as if etcd had been away longer than the TTL
  std::this_thread::sleep_for(seconds(4));
  Result<std::optional<etcd::KeyValue>> record = etcd().get(fleet::host_key(name));
  ASSERT_TRUE(record && *record) << "the host did not register again";
  EXPECT_NE((*record)->lease, first);
  EXPECT_EQ((*record)->lease, (*member)->lease());
}

}  // namespace
}  // namespace dockmig
