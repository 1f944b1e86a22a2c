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
}

}  // namespace
}  // namespace dockmig::fleet
