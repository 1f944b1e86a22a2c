#include "fleet/service_record.h"

#include <gtest/gtest.h>

#include "fleet/etcd_ownership.h"

namespace dockmig::fleet {
namespace {

TEST(ServiceRecord, KeyIsUnderTheServicesPrefix) {
  EXPECT_EQ(service_key("counter"), "/dockmig/services/counter");
}

TEST(ServiceRecord, RoundTrips) {
  ServiceRecord record{"edge-b", "0123456789abcdef", "2026-12-05T00:00:00Z"};
  Result<ServiceRecord> decoded = decode_service_record(encode(record));
  ASSERT_TRUE(decoded) << decoded.error().describe();
  EXPECT_EQ(*decoded, record);
}

TEST(ServiceRecord, IgnoresUnknownFieldsAndMissingOptionalOnes) {
  Result<ServiceRecord> decoded = decode_service_record(R"({"host":"edge-a","future":1})");
  ASSERT_TRUE(decoded) << decoded.error().describe();
  EXPECT_EQ(decoded->host, "edge-a");
  EXPECT_EQ(decoded->migration, "");
}

TEST(ServiceRecord, RefusesWhatNamesNoHost) {
  EXPECT_FALSE(decode_service_record("not json"));
  EXPECT_FALSE(decode_service_record("[]"));
  EXPECT_FALSE(decode_service_record(R"({"migration":"x"})"));
  EXPECT_FALSE(decode_service_record(R"({"host":""})"));
  EXPECT_FALSE(decode_service_record(R"({"host":7})"));
}

TEST(ClaimDecision, CreatesWhenNoRecordKeepsOwnRefusesAnothers) {
  EXPECT_EQ(decide_claim(std::nullopt, "edge-a"), ClaimDecision::Create);
  EXPECT_EQ(decide_claim(ServiceRecord{"edge-a", "", ""}, "edge-a"), ClaimDecision::Keep);
  EXPECT_EQ(decide_claim(ServiceRecord{"edge-b", "", ""}, "edge-a"), ClaimDecision::Refuse);
}

TEST(KeepStep, TheSourceFencesItsOwnRecordAndIsDoneOnceItMovedPastTheRevisionRead) {
  ServiceRecord ours{"edge-a", "m1", ""};
  EXPECT_EQ(decide_keep(ours, 7, 0, "edge-a"), KeepStep::Fence);
  // A fence sent from 7 without an answer: still at 7, fence again; past it, done.
  EXPECT_EQ(decide_keep(ours, 7, 7, "edge-a"), KeepStep::Fence);
  EXPECT_EQ(decide_keep(ours, 9, 7, "edge-a"), KeepStep::Kept);
}

TEST(KeepStep, AnotherHostOrNoRecordIsNotTheSources) {
  EXPECT_EQ(decide_keep(ServiceRecord{"edge-b", "m1", ""}, 9, 0, "edge-a"), KeepStep::Elsewhere);
  // A late take-over that came before the fence: it owns the service now.
  EXPECT_EQ(decide_keep(ServiceRecord{"edge-b", "m1", ""}, 9, 7, "edge-a"), KeepStep::Elsewhere);
  EXPECT_EQ(decide_keep(std::nullopt, 0, 0, "edge-a"), KeepStep::Elsewhere);
  EXPECT_EQ(decide_keep(std::nullopt, 0, 7, "edge-a"), KeepStep::Elsewhere);
}

TEST(EtcdOwnership, UnreachableEtcdIsAnErrorNamingIt) {
  Result<etcd::Client> etcd = etcd::Client::open("http://127.0.0.1:1", {}, std::chrono::milliseconds(500));
  ASSERT_TRUE(etcd);
  EtcdOwnership ownership(*etcd, "edge-a", std::chrono::seconds(1));
  Result<int64_t> claimed = ownership.claim("counter", "0123456789abcdef");
  ASSERT_FALSE(claimed);
  EXPECT_NE(claimed.error().describe().find("http://127.0.0.1:1"), std::string::npos) << claimed.error().describe();
  // owner() retries for its patience, then gives up: never a guess.
  auto started = std::chrono::steady_clock::now();
  Result<std::string> owner = ownership.owner("counter");
  EXPECT_FALSE(owner);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  // Nor does the source's fence guess: an error, not a record naming another host.
  Result<int64_t> kept = ownership.keep("counter");
  ASSERT_FALSE(kept);
  EXPECT_NE(kept.error().code, ErrorCode::Conflict) << kept.error().describe();
  EXPECT_NE(kept.error().describe().find("http://127.0.0.1:1"), std::string::npos) << kept.error().describe();
}

// The record read after a swap of edge-b's handoff m1 from revision 7.
SwapReadBack read_back_at(const std::optional<ServiceRecord>& record, int64_t mod_revision) {
  return read_back_swap(record, mod_revision, 7, "edge-b", "m1");
}

TEST(SwapReadBack, OurHostAndHandoffAfterTheComparedRevisionIsOurs) {
  // The time differs when a copy of the swap was sent again: host and handoff decide.
  EXPECT_EQ(read_back_at(ServiceRecord{"edge-b", "m1", "2026-12-05T00:00:01Z"}, 9), SwapReadBack::Ours);
  EXPECT_EQ(read_back_at(ServiceRecord{"edge-b", "m1", ""}, 8), SwapReadBack::Ours);
}

TEST(SwapReadBack, TheRecordStillAtTheComparedRevisionIsUnchanged) {
  EXPECT_EQ(read_back_at(ServiceRecord{"edge-a", "m0", ""}, 7), SwapReadBack::Unchanged);
  EXPECT_EQ(read_back_swap(std::nullopt, 0, 0, "edge-a", "m1"), SwapReadBack::Unchanged);
}

TEST(SwapReadBack, AnyOtherWriteIsAChange) {
  EXPECT_EQ(read_back_at(ServiceRecord{"edge-c", "m2", ""}, 9), SwapReadBack::Changed);
  // Our host by another handoff, or our handoff handing the record back to its source.
  EXPECT_EQ(read_back_at(ServiceRecord{"edge-b", "m2", ""}, 9), SwapReadBack::Changed);
  EXPECT_EQ(read_back_at(ServiceRecord{"edge-a", "m1", ""}, 9), SwapReadBack::Changed);
  EXPECT_EQ(read_back_at(std::nullopt, 0), SwapReadBack::Changed);  // deleted
  EXPECT_EQ(read_back_swap(ServiceRecord{"edge-c", "m2", ""}, 3, 0, "edge-a", "m1"), SwapReadBack::Changed);
}

TEST(EtcdOwnership, ASwapWithNoAnswerAndNoRecordToReadIsUnknownNotAFailure) {
  Result<etcd::Client> etcd = etcd::Client::open("http://127.0.0.1:1", {}, std::chrono::milliseconds(500));
  ASSERT_TRUE(etcd);
  EtcdOwnership ownership(*etcd, "edge-b", std::chrono::seconds(1));
  Result<int64_t> taken = ownership.take_over("counter", "edge-a", 7, "0123456789abcdef");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, migrate::kSwapOutcomeUnknown) << taken.error().describe();
  EXPECT_NE(taken.error().message.find("whether it was applied is unknown"), std::string::npos)
      << taken.error().message;
}

}  // namespace
}  // namespace dockmig::fleet
