#include "fleet/host_record.h"

#include <gtest/gtest.h>

namespace dockmig::fleet {
namespace {

HostRecord edge(std::string name, std::vector<std::string> containers) {
  HostRecord record;
  record.name = std::move(name);
  record.agent_address = "10.77.1.1:7070";
  record.docker_version = "20.10.24";
  record.criu_version = "4.2.1";
  record.staging_free_bytes = 3ull << 30;
  record.images = {"10.77.9.1:5000/dockmig/tiny@sha256:" + std::string(64, 'a')};
  record.containers = std::move(containers);
  record.lease_ttl_seconds = 10;
  return record;
}

TEST(HostRecord, RoundTripsThroughJson) {
  HostRecord record = edge("edge-a", {"counter", "web"});
  Result<HostRecord> back = host_record_from_json(to_json(record));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, record);
}

TEST(HostRecord, ReadsARecordWithFieldsItDoesNotKnowAndWithoutOptionalOnes) {
  Result<HostRecord> record = host_record_from_json(nlohmann::json{{"name", "edge-z"}, {"gpu", true}});
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(record->name, "edge-z");
  EXPECT_TRUE(record->containers.empty());
}

TEST(HostRecord, RefusesARecordWithoutNameOrWithAWrongType) {
  EXPECT_FALSE(host_record_from_json(nlohmann::json{{"agent_address", "x"}}));
  Result<HostRecord> wrong = host_record_from_json(nlohmann::json{{"name", "edge-a"}, {"containers", "web"}});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("edge-a"), std::string::npos);
}

TEST(HostName, TakesDnsLikeNamesOnly) {
  EXPECT_TRUE(check_host_name("edge-a.site_1"));
  EXPECT_FALSE(check_host_name(""));
  EXPECT_FALSE(check_host_name("edge/a"));
  EXPECT_EQ(host_key("edge-a"), "/dockmig/hosts/edge-a");
}

TEST(HostsText, OneAlignedLinePerHost) {
  std::string text = to_text({edge("edge-a", {"counter", "web"}), edge("edge-bb", {})});
  EXPECT_NE(text.find("HOST     AGENT"), std::string::npos) << text;
  EXPECT_NE(text.find("edge-a   10.77.1.1:7070"), std::string::npos) << text;
  EXPECT_NE(text.find("3.0 GiB"), std::string::npos) << text;
  EXPECT_NE(text.find("counter,web\n"), std::string::npos) << text;
  EXPECT_NE(text.find("edge-bb"), std::string::npos) << text;
}

}  // namespace
}  // namespace dockmig::fleet

namespace dockmig::fleet {
namespace {

HostRecord with_free(uint64_t bytes) {
  HostRecord record;
  record.name = "edge-a";
  record.containers = {"web"};
  record.staging_free_bytes = bytes;
  return record;
}

TEST(WorthRewriting, NotForFreeDiskThatMovedLittle) {
  constexpr uint64_t GiB = 1ull << 30;
  EXPECT_FALSE(worth_rewriting(with_free(50 * GiB), with_free(50 * GiB)));
  EXPECT_FALSE(worth_rewriting(with_free(50 * GiB), with_free(50 * GiB - 300'000'000)));  // under 1 GiB
  EXPECT_FALSE(worth_rewriting(with_free(50 * GiB), with_free(48 * GiB)));                // under 5 %
  EXPECT_TRUE(worth_rewriting(with_free(50 * GiB), with_free(47 * GiB)));
  EXPECT_TRUE(worth_rewriting(with_free(10 * GiB), with_free(12 * GiB)));
  EXPECT_FALSE(worth_rewriting(with_free(GiB / 2), with_free(GiB)));                      // a small disk: 1 GiB
}

TEST(WorthRewriting, ForAnyOtherChange) {
  HostRecord now = with_free(1000);
  now.containers.push_back("db");
  EXPECT_TRUE(worth_rewriting(with_free(1000), now));
  now = with_free(1000);
  now.images.push_back("app@sha256:00");
  EXPECT_TRUE(worth_rewriting(with_free(1000), now));
}

}  // namespace
}  // namespace dockmig::fleet
