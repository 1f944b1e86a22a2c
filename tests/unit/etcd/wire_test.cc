#include "etcd/wire.h"

#include <gtest/gtest.h>

namespace dockmig::etcd {
namespace {

using nlohmann::json;

TEST(Base64, EncodesWithPaddingAsTheGatewayExpects) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("/a"), "L2E=");
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
}

TEST(Base64, DecodesWhatItEncodes) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t length : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    Result<std::string> back = base64_decode(base64_encode(bytes.substr(0, length)));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, bytes.substr(0, length));
  }
}

TEST(Base64, RefusesTextThatIsNotBase64) {
  Result<std::string> decoded = base64_decode("not base64!");
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("not base64"), std::string::npos);
  EXPECT_FALSE(base64_decode("YQ==YQ=="));
}

TEST(PrefixRangeEnd, IncrementsTheLastByte) {
  EXPECT_EQ(prefix_range_end("/dockmig/hosts/"), "/dockmig/hosts0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST(Requests, PutCarriesBase64AndTheLeaseAsADecimalString) {
  json body = put_request("/k", "v", 7587874961046538763);
  EXPECT_EQ(body["key"], "L2s=");
  EXPECT_EQ(body["value"], "dg==");
  EXPECT_EQ(body["lease"], "7587874961046538763");
  EXPECT_FALSE(put_request("/k", "v", 0).contains("lease"));
}

TEST(Requests, SwapComparesTheModRevisionThenPutsOrReads) {
  json body = swap_request("/svc", 42, "edge-b", 0);
  ASSERT_EQ(body["compare"].size(), 1u);
  EXPECT_EQ(body["compare"][0]["target"], "MOD");
  EXPECT_EQ(body["compare"][0]["result"], "EQUAL");
  EXPECT_EQ(body["compare"][0]["mod_revision"], "42");
  EXPECT_EQ(body["compare"][0]["key"], "L3N2Yw==");
  EXPECT_EQ(body["success"][0]["request_put"]["value"], base64_encode("edge-b"));
  EXPECT_EQ(body["failure"][0]["request_range"]["key"], "L3N2Yw==");
}

// The answers below are etcd 3.4.23's, as its gateway wrote them.
TEST(Answers, ReadsARangeWithStringNumbers) {
  json answer = json::parse(R"({"header":{"revision":"2"},"kvs":[{"key":"L2E=","create_revision":"2",
      "mod_revision":"3","version":"2","value":"aGVsbG8=","lease":"2324035817529807365"}],"count":"1"})");
  Result<std::vector<KeyValue>> kvs = parse_range(answer);
  ASSERT_TRUE(kvs) << kvs.error().message;
  ASSERT_EQ(kvs->size(), 1u);
  EXPECT_EQ((*kvs)[0].key, "/a");
  EXPECT_EQ((*kvs)[0].value, "hello");
  EXPECT_EQ((*kvs)[0].create_revision, 2);
  EXPECT_EQ((*kvs)[0].mod_revision, 3);
  EXPECT_EQ((*kvs)[0].version, 2);
  EXPECT_EQ((*kvs)[0].lease, 2324035817529807365);
}

TEST(Answers, AnEmptyRangeHasNoKvs) {
  Result<std::vector<KeyValue>> kvs = parse_range(json::parse(R"({"header":{"revision":"2"}})"));
  ASSERT_TRUE(kvs);
  EXPECT_TRUE(kvs->empty());
}

TEST(Answers, ARangeWithANonNumberRevisionIsAnError) {
  Result<std::vector<KeyValue>> kvs = parse_range(json::parse(R"({"kvs":[{"key":"L2E=","mod_revision":"x"}]})"));
  ASSERT_FALSE(kvs);
  EXPECT_NE(kvs.error().message.find("mod_revision"), std::string::npos);
}

TEST(Answers, ReadsALeaseGrant) {
  Result<Lease> lease = parse_lease_grant(json::parse(R"({"header":{},"ID":"2324035817529807371","TTL":"5"})"));
  ASSERT_TRUE(lease) << lease.error().message;
  EXPECT_EQ(lease->id, 2324035817529807371);
  EXPECT_EQ(lease->ttl, std::chrono::seconds(5));
}

TEST(Answers, AKeepAliveOfALiveLeaseGivesItsTtl) {
  Result<std::chrono::seconds> ttl =
      parse_keep_alive(json::parse(R"({"result":{"header":{},"ID":"12","TTL":"10"}})"), 12);
  ASSERT_TRUE(ttl) << ttl.error().message;
  EXPECT_EQ(*ttl, std::chrono::seconds(10));
}

TEST(Answers, AKeepAliveWithoutTtlMeansTheLeaseIsGone) {
  Result<std::chrono::seconds> ttl = parse_keep_alive(json::parse(R"({"result":{"header":{},"ID":"12"}})"), 12);
  ASSERT_FALSE(ttl);
  EXPECT_EQ(ttl.error().code, ErrorCode::NotFound);
  EXPECT_NE(ttl.error().message.find("12"), std::string::npos);
}

TEST(Answers, ASucceededSwapHasNoCurrentValue) {
  Result<SwapOutcome> outcome = parse_swap(json::parse(
      R"({"header":{"revision":"5"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"5"}}}]})"));
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->succeeded);
  EXPECT_EQ(outcome->revision, 5);
  EXPECT_FALSE(outcome->current);
}

TEST(Answers, AFailedSwapShowsTheKeyAsItIs) {
  Result<SwapOutcome> outcome = parse_swap(json::parse(R"({"header":{"revision":"5"},"responses":[{"response_range":
      {"header":{"revision":"5"},"kvs":[{"key":"L2M=","create_revision":"5","mod_revision":"5","version":"1",
      "value":"b25l"}],"count":"1"}}]})"));
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->succeeded);
  ASSERT_TRUE(outcome->current);
  EXPECT_EQ(outcome->current->value, "one");
  EXPECT_EQ(outcome->current->mod_revision, 5);
}

}  // namespace
}  // namespace dockmig::etcd

namespace dockmig::etcd {
namespace {

using nlohmann::json;

// Messages of a watch stream as etcd 3.4.23's gateway sent them (POST /v3/watch).
TEST(WatchWire, AsksForThePrefixAndPreviousValues) {
  json request = watch_request("/a/", 7);
  EXPECT_EQ(request["create_request"]["key"], base64_encode("/a/"));
  EXPECT_EQ(request["create_request"]["range_end"], base64_encode("/a0"));
  EXPECT_EQ(request["create_request"]["prev_kv"], true);
  EXPECT_EQ(request["create_request"]["start_revision"], "7");
  EXPECT_FALSE(watch_request("/a/", 0)["create_request"].contains("start_revision"));
}

TEST(WatchWire, ReadsEventsWithTheirPreviousValue) {
  json created = json::parse(R"({"result":{"header":{"revision":"2"},"created":true}})");
  Result<WatchMessage> none = parse_watch_message(created);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->events.empty());
  EXPECT_TRUE(none->created);
  EXPECT_EQ(none->revision, 2);
  json message = json::parse(R"({"result":{"header":{"revision":"3"},"events":[
    {"kv":{"key":"L2Evb25l","create_revision":"2","mod_revision":"3","version":"2","value":"eQ=="},
     "prev_kv":{"key":"L2Evb25l","create_revision":"2","mod_revision":"2","version":"1","value":"eA=="}},
    {"type":"DELETE","kv":{"key":"L2EvdHdv","mod_revision":"3"}}]}})");
  Result<WatchMessage> parsed = parse_watch_message(message);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_FALSE(parsed->created);
  EXPECT_EQ(parsed->revision, 3);
  const std::vector<WatchEvent>* events = &parsed->events;
  ASSERT_EQ(events->size(), 2u);
  EXPECT_FALSE((*events)[0].deleted);
  EXPECT_EQ((*events)[0].kv.key, "/a/one");
  EXPECT_EQ((*events)[0].kv.value, "y");
  EXPECT_EQ((*events)[0].kv.mod_revision, 3);
  ASSERT_TRUE((*events)[0].previous);
  EXPECT_EQ((*events)[0].previous->mod_revision, 2);
  EXPECT_EQ((*events)[0].previous->value, "x");
  EXPECT_TRUE((*events)[1].deleted);
  EXPECT_EQ((*events)[1].kv.key, "/a/two");
  EXPECT_FALSE((*events)[1].previous);
}

TEST(WatchWire, ACancelledWatchSaysWhyAndFromWhereEtcdKeepsHistory) {
  json cancelled = json::parse(
      R"({"result":{"header":{"revision":"9"},"canceled":true,"compact_revision":"5","cancel_reason":"mvcc: required revision has been compacted"}})");
  Result<WatchMessage> message = parse_watch_message(cancelled);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_TRUE(message->canceled);
  EXPECT_EQ(message->compact_revision, 5);
  EXPECT_EQ(message->cancel_reason, "mvcc: required revision has been compacted");
}

TEST(RangeWire, ReadsTheRevisionARangeWasReadAt) {
  json answer = json::parse(R"({"header":{"revision":"42"},"kvs":[{"key":"L2Evb25l","mod_revision":"40","value":"eQ=="}],"count":"1"})");
  Result<RangeAnswer> range = parse_range_at(answer);
  ASSERT_TRUE(range) << range.error().message;
  EXPECT_EQ(range->revision, 42);
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].key, "/a/one");
}

TEST(RangeWire, AsksForAPastRevisionOnlyWhenGivenOne) {
  EXPECT_FALSE(range_request("/a/", "/a0").contains("revision"));
  EXPECT_EQ(range_request("/a/", "/a0", 41)["revision"], "41");
}

TEST(RangeWire, TellsACompactedRevisionFromAFutureOne) {
  EXPECT_EQ(revision_refusal("etcdserver: mvcc: required revision has been compacted"), RevisionRefusal::Compacted);
  EXPECT_EQ(revision_refusal("etcdserver: mvcc: required revision is a future revision"), RevisionRefusal::Future);
  EXPECT_EQ(revision_refusal("etcdserver: request timed out"), RevisionRefusal::Other);
}

}  // namespace
}  // namespace dockmig::etcd
