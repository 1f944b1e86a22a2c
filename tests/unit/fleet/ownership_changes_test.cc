#include "fleet/ownership_changes.h"

#include <gtest/gtest.h>

#include "fleet/service_record.h"

namespace dockmig::fleet {
namespace {

etcd::KeyValue record(const std::string& service, const std::string& host, int64_t revision) {
  etcd::KeyValue kv;
  kv.key = service_key(service);
  kv.value = encode(ServiceRecord{host, "m-1", "2026-12-05T16:00:00Z"});
  kv.mod_revision = revision;
  return kv;
}

etcd::WatchEvent put(const std::string& service, const std::string& host, int64_t revision) {
  return etcd::WatchEvent{false, record(service, host, revision), std::nullopt};
}

etcd::WatchEvent deletion(const std::string& service, int64_t revision) {
  etcd::WatchEvent event;
  event.deleted = true;
  event.kv.key = service_key(service);
  event.kv.mod_revision = revision;
  return event;
}

TEST(OwnershipFollower, StartsFromTheStateAsRead) {
  OwnershipFollower follower({});
  std::vector<OwnershipChange> state = follower.read({record("a", "edge-a", 4), record("b", "edge-b", 7)}, 9);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].service, "a");
  EXPECT_EQ(state[0].from, "");
  EXPECT_EQ(state[0].to, "edge-a");
  EXPECT_EQ(state[0].revision, 4);
  EXPECT_TRUE(state[0].current);
  EXPECT_EQ(to_text(state[0]), "a: on edge-a since revision 4");
}

TEST(OwnershipFollower, AHandoffIsOneChangeFromTheOldOwnerToTheNew) {
  OwnershipFollower follower({});
  follower.read({record("a", "edge-a", 4)}, 9);
  std::vector<OwnershipChange> moved = follower.apply({put("a", "edge-b", 10)});
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].from, "edge-a");
  EXPECT_EQ(moved[0].to, "edge-b");
  EXPECT_EQ(moved[0].revision, 10);
  EXPECT_FALSE(moved[0].current);
  EXPECT_EQ(to_text(moved[0]), "a: edge-a -> edge-b at revision 10");
  EXPECT_EQ(to_json(moved[0]), nlohmann::json::parse(
                                   R"({"service":"a","from":"edge-a","to":"edge-b","revision":10,"current":false})"));
}

TEST(OwnershipFollower, AFirstClaimComesFromNobodyAndARewriteOfTheSameHostIsNoChange) {
  OwnershipFollower follower({});
  follower.read({}, 3);
  std::vector<OwnershipChange> claimed = follower.apply({put("a", "edge-a", 4), put("a", "edge-a", 5)});
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].from, "");
  EXPECT_EQ(to_json(claimed[0])["from"], nullptr);
  EXPECT_EQ(to_text(claimed[0]), "a: nobody -> edge-a at revision 4");
}

TEST(OwnershipFollower, FollowsOnlyTheServicesNamed) {
  OwnershipFollower follower({"b"});
  EXPECT_EQ(follower.read({record("a", "edge-a", 4), record("b", "edge-b", 5)}, 9).size(), 1u);
  EXPECT_TRUE(follower.apply({put("a", "edge-c", 10)}).empty());
  EXPECT_EQ(follower.apply({put("b", "edge-c", 11)}).size(), 1u);
}

TEST(OwnershipFollower, ADeletedRecordGoesToNobody) {
  OwnershipFollower follower({});
  follower.read({record("a", "edge-a", 4)}, 9);
  std::vector<OwnershipChange> gone = follower.apply({deletion("a", 12)});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].to, "");
  EXPECT_EQ(to_text(gone[0]), "a: edge-a -> nobody (record deleted) at revision 12");
}

TEST(OwnershipFollower, ReadingAgainGivesOnlyWhatDiffers) {
  OwnershipFollower follower({});
  follower.read({record("a", "edge-a", 4), record("b", "edge-b", 5), record("c", "edge-c", 6)}, 9);
  // The watch's history was compacted away; read again at 30: a moved, b is gone, c stayed.
  std::vector<OwnershipChange> missed = follower.read({record("a", "edge-c", 20), record("c", "edge-c", 6)}, 30);
  ASSERT_EQ(missed.size(), 2u);
  EXPECT_EQ(missed[0].service, "a");
  EXPECT_EQ(missed[0].from, "edge-a");
  EXPECT_EQ(missed[0].to, "edge-c");
  EXPECT_TRUE(missed[0].current);
  EXPECT_EQ(missed[1].service, "b");
  EXPECT_EQ(missed[1].to, "");
  EXPECT_EQ(missed[1].revision, 30);
}

TEST(OwnershipFollower, AnUnreadableRecordChangesNothing) {
  OwnershipFollower follower({});
  follower.read({record("a", "edge-a", 4)}, 9);
  etcd::WatchEvent garbled = put("a", "edge-b", 10);
  garbled.kv.value = "not json";
  EXPECT_TRUE(follower.apply({garbled}).empty());
  EXPECT_EQ(follower.apply({put("a", "edge-b", 11)})[0].from, "edge-a");
}

}  // namespace
}  // namespace dockmig::fleet
