#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "memory/page_records.h"
#include "memory/page_store.h"
#include "memory/process_memory.h"
#include "migrate/memory_sync.h"

namespace dockmig::memory {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> page_of(char fill) { return std::vector<std::byte>(kPageSize, static_cast<std::byte>(fill)); }
PageView view(const std::vector<std::byte>& page) { return PageView(page.data(), kPageSize); }

class VectorSink : public transfer::ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
    return {};
  }
  Status finish() override { return {}; }
  std::vector<std::byte> bytes;
};

class VectorSource : public transfer::ByteSource {
 public:
  explicit VectorSource(std::vector<std::byte> data) : data_(std::move(data)) {}
  Result<size_t> read(std::span<std::byte> buffer) override {
    size_t n = std::min(buffer.size(), data_.size() - at_);
    std::memcpy(buffer.data(), data_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::vector<std::byte> data_;
  size_t at_ = 0;
};

// Records what a reader hands on, as one letter per page: z, k<index>, l<first byte>.
class Transcript : public PageRecordVisitor {
 public:
  Status zero(uint32_t count) override {
    text += std::string(count, 'z');
    return {};
  }
  Status known(uint32_t first, uint32_t count) override {
    for (uint32_t i = 0; i < count; ++i) text += "k" + std::to_string(first + i);
    return {};
  }
  Status literal(PageView page) override {
    text += "l";
    text += static_cast<char>(page[0]);
    return {};
  }
  std::string text;
};

TEST(PageRecords, RoundTripKeepsOrderAndMergesRuns) {
  VectorSink sink;
  PageRecordWriter writer(sink);
  ASSERT_TRUE(writer.zero());
  ASSERT_TRUE(writer.zero());
  ASSERT_TRUE(writer.known(7));
  ASSERT_TRUE(writer.known(8));
  ASSERT_TRUE(writer.known(3));
  ASSERT_TRUE(writer.literal(view(page_of('a'))));
  ASSERT_TRUE(writer.literal(view(page_of('b'))));
  ASSERT_TRUE(writer.flush());
  // zz, one run of k7 k8, k3, one literal run of two pages: 5+9+9+5+2*4096 bytes.
  EXPECT_EQ(sink.bytes.size(), 5u + 9 + 9 + 5 + 2 * kPageSize);
  VectorSource source(sink.bytes);
  Transcript transcript;
  ASSERT_TRUE(read_page_records(source, 7, transcript));
  EXPECT_EQ(transcript.text, "zzk7k8k3lalb");
}

TEST(PageRecords, CodedLiteralsReadBackAsTheyWere) {
  VectorSink sink;
  PageEncoder encoder;
  PageRecordWriter writer(sink, &encoder);
  ASSERT_TRUE(writer.zero());
  ASSERT_TRUE(writer.literal(view(page_of('a'))));
  ASSERT_TRUE(writer.literal(view(page_of('b'))));
  ASSERT_TRUE(writer.flush());
  EXPECT_EQ(sink.bytes.size(), 5u + 5 + 2 * kCodedPageSize);
  Transcript transcript;
  VectorSource coded(sink.bytes);
  ASSERT_TRUE(read_page_records(coded, 3, transcript, /*coded=*/true));
  EXPECT_EQ(transcript.text, "zlalb");
  VectorSource cut(std::vector<std::byte>(sink.bytes.begin(), sink.bytes.end() - 1));
  Status refused = read_page_records(cut, 3, transcript, /*coded=*/true);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "malformed page stream: cut in the middle of a record");
}

TEST(PageRecords, RefusesARunPastTheImageAndACutStream) {
  VectorSink sink;
  PageRecordWriter writer(sink);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer.zero());
  ASSERT_TRUE(writer.flush());
  Transcript transcript;
  VectorSource too_long(sink.bytes);
  Status refused = read_page_records(too_long, 2, transcript);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("does not fit"), std::string::npos);
  VectorSource cut(std::vector<std::byte>(sink.bytes.begin(), sink.bytes.begin() + 3));
  EXPECT_FALSE(read_page_records(cut, 3, transcript));
  VectorSource bad_tag(std::vector<std::byte>{std::byte{'Q'}, std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}});
  EXPECT_FALSE(read_page_records(bad_tag, 1, transcript));
}

// Post-copy: pages left at the source cross as their hashes, in order among the others.
class DeferralTranscript : public Transcript {
 public:
  Status deferred(const PageHash& hash) override {
    text += "d";
    hashes.push_back(hash);
    return {};
  }
  std::vector<PageHash> hashes;
};

TEST(PageRecords, DeferredPagesCrossAsTheirHashes) {
  VectorSink sink;
  PageRecordWriter writer(sink);
  std::vector<std::byte> a = page_of('a'), b = page_of('b');
  ASSERT_TRUE(writer.literal(view(a)));
  ASSERT_TRUE(writer.deferred(hash_page(view(a))));
  ASSERT_TRUE(writer.deferred(hash_page(view(b))));
  ASSERT_TRUE(writer.zero());
  ASSERT_TRUE(writer.flush());
  // One literal run, one deferred run of two 16-byte hashes, one zero run.
  EXPECT_EQ(sink.bytes.size(), 5u + kPageSize + 5 + 2 * kPageHashBytes + 5);
  VectorSource source(sink.bytes);
  DeferralTranscript transcript;
  ASSERT_TRUE(read_page_records(source, 4, transcript));
  EXPECT_EQ(transcript.text, "laddz");
  ASSERT_EQ(transcript.hashes.size(), 2u);
  EXPECT_EQ(transcript.hashes[0], hash_page(view(a)));
  EXPECT_EQ(transcript.hashes[1], hash_page(view(b)));
  // A reader that takes no deferred pages refuses them.
  VectorSource again(sink.bytes);
  Transcript strict;
  Status refused = read_page_records(again, 4, strict);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("deferred page"), std::string::npos);
}

// Page `index` as the destination's assembly reads it: whether it still matches its hash.
bool read_intact(const PageStore& store, uint32_t index, std::byte (&out)[kPageSize]) {
  Result<uint32_t> read = store.read_run(index, out);
  return read && *read == 1 && store.holds(index, PageView(out, kPageSize));
}

TEST(PageStore, ReadsBackWhatItStoredAndCatchesDamage) {
  fs::path dir = fs::temp_directory_path() / ("page-store-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  Result<PageStore> store = PageStore::create(dir / "store");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->append(view(page_of('a'))));
  ASSERT_TRUE(store->append(view(page_of('b'))));
  std::byte out[kPageSize];
  EXPECT_TRUE(read_intact(*store, 1, out));
  EXPECT_EQ(out[0], std::byte{'b'});
  {
    std::fstream file(dir / "store", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(kPageSize + 100);
    file.put('X');
  }
  EXPECT_FALSE(read_intact(*store, 1, out)) << "a damaged page must fail its hash";
  EXPECT_FALSE(store->replace(1, view(page_of('c')))) << "only the original content may replace it";
  ASSERT_TRUE(store->replace(1, view(page_of('b'))));
  EXPECT_TRUE(read_intact(*store, 1, out));
  EXPECT_FALSE(store->read_run(2, out)) << "a page past the store's end";
  std::vector<std::byte> run(2 * kPageSize);
  Result<uint32_t> read = store->read_run(0, run);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, 2u);
  EXPECT_TRUE(store->holds(0, PageView(run.data(), kPageSize)));
  EXPECT_TRUE(store->holds(1, PageView(run.data() + kPageSize, kPageSize)));
  EXPECT_FALSE(store->holds(0, PageView(run.data() + kPageSize, kPageSize)));
  EXPECT_FALSE(store->read_run(1, run)) << "a run past the store's end";
  fs::remove_all(dir);
}

TEST(ProcessMemory, ChoosesTheRegionsCriuDumps) {
  auto region = [](const std::string& line) { return pages_to_dump(*parse_maps_line(line)); };
  EXPECT_EQ(region("7f00-7f10 rw-p 00000000 00:00 0 "), RegionPages::All);
  EXPECT_EQ(region("5600-5700 rw-p 00000000 00:00 0                  [heap]"), RegionPages::All);
  EXPECT_EQ(region("7f00-7f10 r--p 00000000 08:01 123  /usr/lib/libc.so.6"), RegionPages::AnonymousOnly);
  EXPECT_EQ(region("7f00-7f10 rw-s 00000000 08:01 123  /data/shared.db"), RegionPages::None);
  EXPECT_EQ(region("7f00-7f10 rw-s 00000000 00:01 9    /dev/zero (deleted)"), RegionPages::All);
  EXPECT_EQ(region("7f00-7f10 r--p 00000000 00:00 0    [vvar]"), RegionPages::None);
  EXPECT_EQ(region("7f00-7f10 ---p 00000000 00:00 0 "), RegionPages::None);
  EXPECT_FALSE(parse_maps_line("not a maps line"));
}

TEST(ProcessMemory, ReadsThisProcesssPagesWithTheirAddresses) {
  const size_t pages = 16;
  auto* region = static_cast<std::byte*>(mmap(nullptr, pages * kPageSize, PROT_READ | PROT_WRITE,
                                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  for (size_t i = 0; i < pages; i += 2) std::memset(region + i * kPageSize, 'a' + static_cast<int>(i), kPageSize);
  std::map<uint64_t, char> seen;
  ScanStats stats;
  Status read = read_process_ranges(getpid(), dumpable_ranges(getpid()), [&](const PageAddress& at, PageView page) -> Status {
    uint64_t start = reinterpret_cast<uint64_t>(region);
    if (at.vaddr >= start && at.vaddr < start + pages * kPageSize) seen[(at.vaddr - start) / kPageSize] = static_cast<char>(page[0]);
    return {};
  }, stats);
  ASSERT_TRUE(read);
  // Only the pages written are present; the others were never touched.
  ASSERT_EQ(seen.size(), pages / 2);
  for (const auto& [index, first] : seen) EXPECT_EQ(first, 'a' + static_cast<int>(index));
  munmap(region, pages * kPageSize);
}

TEST(ProcessMemory, FindsTheProcessesOfAPidNamespace) {
  Result<std::vector<int>> pids = namespace_processes(getpid());
  ASSERT_TRUE(pids);
  EXPECT_EQ(pids->front(), getpid());
  EXPECT_FALSE(namespace_processes(0x3fffffff));
}

}  // namespace
}  // namespace dockmig::memory

namespace dockmig::migrate {
namespace {

PrecopyRound round_of(uint64_t raw_bytes, uint64_t wire_bytes, double seconds) {
  PrecopyRound round;
  round.raw_bytes = raw_bytes;
  round.wire_bytes = wire_bytes;
  round.seconds = seconds;
  return round;
}

TEST(PrecopyStopRule, GoesOnAfterTheFirstLargeRound) {
  EXPECT_FALSE(precopy_stop_reason({round_of(64 << 20, 64 << 20, 25)}, 0.5));
}

TEST(PrecopyStopRule, FreezesWhenTheRestCrossesWithinTheTarget) {
  // 2.5 MB/s measured; 1 MB left would take 0.4 s.
  auto reason = precopy_stop_reason({round_of(50 << 20, 50'000'000, 20), round_of(1 << 20, 1'000'000, 0.5)}, 0.5);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("converged"), std::string::npos);
  EXPECT_FALSE(precopy_stop_reason({round_of(50 << 20, 50'000'000, 20), round_of(4 << 20, 4'000'000, 2)}, 0.5));
}

TEST(PrecopyStopRule, FreezesWhenRoundsStopShrinking) {
  auto reason = precopy_stop_reason(
      {round_of(50 << 20, 50'000'000, 20), round_of(30 << 20, 30'000'000, 12), round_of(29 << 20, 29'000'000, 12)}, 0.5);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("not converging"), std::string::npos);
}

PrecopyRound round_read(uint64_t pages_read, double compression) {
  PrecopyRound round = round_of(pages_read * 4096, pages_read * 4096 / compression, pages_read * 4096 / compression / 2e6);
  round.pages_read = pages_read;
  return round;
}

TEST(PrecopyStopRule, WithWritesTrackedTheNextRoundIsKnownBeforeItIsSent) {
  // The face workload at 20 Mbps: a hot set of ~700 pages rewritten for every frame.
  std::vector<PrecopyRound> rounds = {round_read(10934, 4.9), round_read(1190, 2.1)};
  // 871 pages written during round 2, which read 1190: a shrink of more than a fifth.
  EXPECT_FALSE(precopy_stop_reason(rounds, 0.5, 871));
  rounds.push_back(round_read(871, 1.7));
  auto reason = precopy_stop_reason(rounds, 0.5, 860);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("not converging: the container wrote 860 pages during round 3, which read 871"),
            std::string::npos);
}

TEST(PrecopyStopRule, WithWritesTrackedFreezesWhenTheWrittenPagesCrossWithinTheTarget) {
  std::vector<PrecopyRound> rounds = {round_read(80000, 2), round_read(5000, 2)};
  // 2 MB/s, 2:1: 400 pages are 0.8 MB on the wire, 0.41 s.
  auto reason = precopy_stop_reason(rounds, 0.5, 400);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("converged: the 400 pages written during round 2"), std::string::npos);
  EXPECT_FALSE(precopy_stop_reason(rounds, 0.5, 600));
}

TEST(PrecopyStopRule, PagesWrittenAllTheTimeAreLeftForTheFreeze) {
  // The face workload: each round leaves out the ~750 pages of scratch buffers rewritten
  // for every frame; the next round's useful part is what else was written.
  PrecopyRound first = round_read(10200, 4.9), second = round_read(2000, 2.1);
  first.pages_deferred = 700;
  second.pages_deferred = 760;
  auto reason = precopy_stop_reason({first, second}, 0.5, 820);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("converged: the 60 pages written during round 2 (and 760 written all the time, for after "
                         "the freeze)"),
            std::string::npos);
  // 600 useful pages need 0.59 s at 2 MB/s, and a round of them shrinks the last by 70%.
  EXPECT_FALSE(precopy_stop_reason({first, second}, 0.5, 760 + 600));
}

TEST(PrecopyStopRule, WithWritesTrackedTheFirstRoundAloneDecidesNothing) {
  // Round 1 compresses far better than pages written again do: no guess from it.
  EXPECT_FALSE(precopy_stop_reason({round_read(80000, 5)}, 0.5, 500));
}

TEST(PrecopyStopRule, FreezesAtOnceWhenARoundSentAlmostNothing) {
  auto reason = precopy_stop_reason({round_of(8192, 3000, 0.01)}, 0.5);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("converged"), std::string::npos);
}

TEST(PrecopyStopRule, StopsAtTheRoundLimit) {
  std::vector<PrecopyRound> rounds;
  for (int i = 0; i < 4; ++i) rounds.push_back(round_of((40 - 8 * i) << 20, (40 - 8 * i) * 1'000'000, 100));
  auto reason = precopy_stop_reason(rounds, 0.5, std::nullopt, 4);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("limit"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::migrate
