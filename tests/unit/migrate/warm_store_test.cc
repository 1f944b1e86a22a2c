// Preparations that outlive the process: a record read back as written (names as raw
// bytes), one store finding what another left in the same dir, expiry, and a damaged
// record dropped with a warning instead of failing anything.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "migrate/warm_store.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::migrate {
namespace {

const std::string kContainer = "0123456789abcdef0123456789abcdef";
const std::string kDestination = "10.77.1.2:7070";
const std::string kNotUtf8 = std::string("data/caf\xe9\xff-\x01name", 15);

WarmState prepared(const std::filesystem::path& work) {
  WarmState state;
  state.destination = kDestination;
  state.warm_id = "00112233445566ff";
  state.work = work;
  state.raw_bytes = 123456;
  state.container_started_at = "2026-12-04T20:00:00.123456789Z";
  state.snapshot.entries["data"] = {040755, 0, 0, 4096, 1, 2, 10};
  state.snapshot.entries[kNotUtf8] = {0100644, 1000, 1000, 1u << 20, -5, 1764878400000000000, 11};
  return state;
}

class WarmStoreTest : public transfer::testing::ScratchDirTest {
 protected:
  std::filesystem::path store_dir() const { return dir_ / "warm"; }
  std::filesystem::path record() const { return store_dir() / (kContainer + "@10.77.1.2_7070.prep"); }
  // A store as a new process (an agent restarted, or `dockmig migrate`) opens it.
  std::unique_ptr<WarmStore> reopened(std::chrono::seconds ttl = kWarmTtl) const {
    auto store = std::make_unique<WarmStore>(ttl);
    store->persist_in(store_dir());
    return store;
  }
  std::filesystem::path made_work(const WarmStore& store) const {
    std::filesystem::path work = store.work_dir("00112233445566ff");
    std::filesystem::create_directories(work);
    std::ofstream(work / "signatures") << "sig";
    return work;
  }
};

TEST(WarmRecordTest, RoundTripsEveryFieldAndRawByteNames) {
  WarmRecord written{kContainer, prepared("/var/lib/dockmig/warm/dockmig-warm-00112233445566ff")};
  written.state.prepared_at = 1764878400;
  Result<WarmRecord> read = decode_warm_record(encode_warm_record(written));
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_EQ(read->container_id, kContainer);
  EXPECT_EQ(read->state.destination, kDestination);
  EXPECT_EQ(read->state.warm_id, written.state.warm_id);
  EXPECT_EQ(read->state.work, written.state.work);
  EXPECT_EQ(read->state.raw_bytes, 123456u);
  EXPECT_EQ(read->state.container_started_at, written.state.container_started_at);
  EXPECT_EQ(read->state.prepared_at, 1764878400);
  EXPECT_EQ(read->state.snapshot.entries, written.state.snapshot.entries);
  EXPECT_TRUE(read->state.snapshot.entries.contains(kNotUtf8));
}

TEST(WarmRecordTest, RefusesTruncatedFlippedAndForeignBytes) {
  std::string bytes = encode_warm_record({kContainer, prepared("/w")});
  for (size_t cut : {size_t{0}, size_t{5}, size_t{20}, bytes.size() - 1})
    EXPECT_FALSE(decode_warm_record(bytes.substr(0, cut))) << "cut at " << cut;
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_FALSE(decode_warm_record(flipped));
  EXPECT_FALSE(decode_warm_record(bytes + "x"));
  EXPECT_FALSE(decode_warm_record("{\"destination\": \"10.77.1.2:7070\"}"));
}

TEST_F(WarmStoreTest, AnotherProcessTakesWhatOneKept) {
  {
    std::unique_ptr<WarmStore> agent = reopened();
    agent->put(kContainer, prepared(made_work(*agent)));
  }
  ASSERT_TRUE(std::filesystem::exists(record()));
  std::unique_ptr<WarmStore> restarted = reopened();
  restarted->prune([](const std::string&, const WarmState&) { return true; });
  EXPECT_FALSE(restarted->take(kContainer, "10.77.1.9:7070")) << "another destination's handoff";
  std::optional<WarmState> taken = restarted->take(kContainer, kDestination);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->snapshot.entries, prepared("").snapshot.entries);
  EXPECT_TRUE(std::filesystem::exists(taken->work / "signatures")) << "the work dir goes with it";
  EXPECT_FALSE(std::filesystem::exists(record())) << "taken once";
  EXPECT_FALSE(reopened()->take(kContainer, kDestination));
}

TEST_F(WarmStoreTest, ANewerPreparationReplacesTheOlderAndItsFiles) {
  std::unique_ptr<WarmStore> store = reopened();
  std::filesystem::path old_work = made_work(*store);
  store->put(kContainer, prepared(old_work));
  WarmState newer = prepared(store->work_dir("ffeeddccbbaa0099"));
  newer.warm_id = "ffeeddccbbaa0099";
  store->put(kContainer, newer);
  EXPECT_FALSE(std::filesystem::exists(old_work));
  EXPECT_EQ(reopened()->take(kContainer, kDestination)->warm_id, "ffeeddccbbaa0099");
}

TEST_F(WarmStoreTest, AnExpiredPreparationIsDroppedWithItsFiles) {
  std::unique_ptr<WarmStore> store = reopened();
  WarmState old = prepared(made_work(*store));
  store->put(kContainer, old);
  std::unique_ptr<WarmStore> strict = reopened(std::chrono::seconds(-1));
  strict->prune();
  EXPECT_FALSE(std::filesystem::exists(record()));
  EXPECT_FALSE(std::filesystem::exists(old.work));

  WarmState stale = prepared(made_work(*store));
  stale.prepared_at = 1;  // long ago
  store->put(kContainer, stale);
  EXPECT_FALSE(reopened()->take(kContainer, kDestination));
  EXPECT_FALSE(std::filesystem::exists(stale.work));
}

TEST_F(WarmStoreTest, PruneDropsWhatTheCallerRefuses) {
  std::unique_ptr<WarmStore> store = reopened();
  WarmState state = prepared(made_work(*store));
  store->put(kContainer, state);
  reopened()->prune([](const std::string&, const WarmState&) { return false; });  // container gone
  EXPECT_FALSE(std::filesystem::exists(record()));
  EXPECT_FALSE(std::filesystem::exists(state.work));
}

TEST_F(WarmStoreTest, ADamagedRecordIsDroppedNotTrusted) {
  std::unique_ptr<WarmStore> store = reopened();
  store->put(kContainer, prepared(made_work(*store)));
  std::filesystem::resize_file(record(), std::filesystem::file_size(record()) - 3);
  std::unique_ptr<WarmStore> restarted = reopened();
  restarted->prune();
  EXPECT_FALSE(std::filesystem::exists(record()));
  EXPECT_FALSE(restarted->take(kContainer, kDestination));

  std::ofstream(record(), std::ios::binary) << "garbage";
  EXPECT_FALSE(reopened()->take(kContainer, kDestination));
  EXPECT_FALSE(std::filesystem::exists(record()));
}

TEST_F(WarmStoreTest, OnePreparationPerDestinationSideBySide) {
  std::unique_ptr<WarmStore> store = reopened();
  WarmState to_b = prepared(made_work(*store));
  WarmState to_c = prepared(store->work_dir("ffeeddccbbaa0099"));
  to_c.destination = "10.77.1.3:7070";
  to_c.warm_id = "ffeeddccbbaa0099";
  std::filesystem::create_directories(to_c.work);
  store->put(kContainer, to_b);
  store->put(kContainer, to_c);
  EXPECT_TRUE(std::filesystem::exists(to_b.work)) << "a preparation elsewhere replaces nothing";
  std::unique_ptr<WarmStore> restarted = reopened();
  EXPECT_EQ(restarted->take(kContainer, "10.77.1.3:7070")->warm_id, "ffeeddccbbaa0099");
  EXPECT_EQ(restarted->take(kContainer, kDestination)->warm_id, "00112233445566ff");
}

TEST_F(WarmStoreTest, TheUnusedOnesGoAfterTheirTtl) {
  std::unique_ptr<WarmStore> store = reopened();
  WarmState unused = prepared(made_work(*store));
  unused.prepared_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count() - 30;
  store->put(kContainer, unused);
  store->prune();
  EXPECT_TRUE(std::filesystem::exists(record())) << "30 s old, within the default TTL";
  store->set_ttl(std::chrono::seconds(10));
  store->prune();
  EXPECT_FALSE(std::filesystem::exists(record()));
  EXPECT_FALSE(std::filesystem::exists(unused.work));
}

TEST_F(WarmStoreTest, PruneLeavesALiveProcesssClaimAlone) {
  std::unique_ptr<WarmStore> store = reopened(std::chrono::seconds(5));
  std::filesystem::path live = store_dir() / ("a.prep.taken-" + std::to_string(::getpid()));
  std::filesystem::path dead = store_dir() / "b.prep.taken-2147483646";
  std::ofstream(live) << "claimed";
  std::ofstream(dead) << "claimed";
  std::filesystem::path sending = store->work_dir("aabbccddeeff0011");
  std::filesystem::create_directories(sending);
  store->prune();
  EXPECT_TRUE(std::filesystem::exists(live)) << "a take under way in this process";
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(sending)) << "a preparation still sending has no record yet";
}

TEST_F(WarmStoreTest, InMemoryWithoutAStateDir) {
  WarmStore store;
  store.put(kContainer, prepared("/nonexistent"));
  EXPECT_FALSE(std::filesystem::exists(record()));
  EXPECT_FALSE(store.take(kContainer, "10.77.1.9:7070"));
  EXPECT_TRUE(store.take(kContainer, kDestination));
  EXPECT_FALSE(store.take(kContainer, kDestination));
}

}  // namespace
}  // namespace dockmig::migrate
