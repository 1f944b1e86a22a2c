// The upper-index blob carries paths as bytes, however many, and refuses what could reach
// outside the layer.
#include "migrate/upper_index.h"

#include <gtest/gtest.h>

#include "unit/layers/layers_test_support.h"

namespace dockmig::migrate {
namespace {

using layers::testing::VectorSink;
using layers::testing::VectorSource;

std::vector<std::byte> encoded(const UpperIndex& index) {
  VectorSink sink;
  Status written = write_upper_index(index, sink);
  EXPECT_TRUE(written) << written.error().message;
  EXPECT_TRUE(sink.finished);
  return sink.bytes;
}

Result<UpperIndex> decoded(std::vector<std::byte> bytes) {
  VectorSource source(std::move(bytes));
  return read_upper_index(source);
}

void expect_same(const UpperIndex& got, const UpperIndex& want) {
  EXPECT_EQ(got.deleted, want.deleted);
  ASSERT_EQ(got.deltas.size(), want.deltas.size());
  for (size_t i = 0; i < want.deltas.size(); ++i) {
    EXPECT_EQ(got.deltas[i].path, want.deltas[i].path);
    EXPECT_EQ(got.deltas[i].mode, want.deltas[i].mode);
    EXPECT_EQ(got.deltas[i].uid, want.deltas[i].uid);
    EXPECT_EQ(got.deltas[i].gid, want.deltas[i].gid);
    EXPECT_EQ(got.deltas[i].mtime_ns, want.deltas[i].mtime_ns);
  }
}

/// The message of the error that reading `bytes` ends in.
std::string refusal_of(std::vector<std::byte> bytes) {
  Result<UpperIndex> read = decoded(std::move(bytes));
  if (read) return "(accepted)";
  EXPECT_EQ(read.error().code, ErrorCode::InvalidInput);
  return read.error().message;
}

std::string refusal(const UpperIndex& index) { return refusal_of(encoded(index)); }

TEST(UpperIndex, PathsThatAreNotUtf8OrHoldANewlineRoundTripByteForByte) {
  UpperIndex index{{"caf\xe9", "dir/line\nbreak", "d\xc3(/x", "plain"},
                   {{"big\xff\xfe", 0640, 1000, 4294967295u, -5}, {"var/lib/db", 04755, 0, 0, 1700000000123456789}},
                   {}};
  Result<UpperIndex> read = decoded(encoded(index));
  ASSERT_TRUE(read) << read.error().message;
  expect_same(*read, index);
}

TEST(UpperIndex, EmptyIndexRoundTrips) {
  Result<UpperIndex> read = decoded(encoded({}));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->deleted.empty());
  EXPECT_TRUE(read->deltas.empty());
}

TEST(UpperIndex, ADestinationsListingRoundTripsWithoutInodesOrCtimes) {
  layers::UpperSnapshot held;
  held.entries["caf\xe9/big"] = {0100600, 999, 4294967295u, 6u << 20, 1700000000123456789, 1700000005000000000, 77};
  held.entries["caf\xe9"] = {040755, 0, 0, 4096, -5, 3, 9};
  Result<UpperIndex> read = decoded(encoded({{}, {}, listing_of(held)}));
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->listed.entries.size(), 2u);
  layers::EntryStamp big = read->listed.entries.at("caf\xe9/big");
  EXPECT_EQ(big, (layers::EntryStamp{0100600, 999, 4294967295u, 6u << 20, 1700000000123456789, 0, 0}));
  EXPECT_EQ(read->listed.entries.at("caf\xe9").mtime_ns, -5);
  EXPECT_NE(refusal({{}, {}, listing_of({{{"../etc", {}}}})}).find("climbs out"), std::string::npos);
}

TEST(UpperIndex, ListFarLargerThanAFrameRoundTrips) {
  UpperIndex index;
  for (int i = 0; i < 40000; ++i) index.deleted.push_back("many/" + std::string(200, 'n') + std::to_string(i));
  std::vector<std::byte> bytes = encoded(index);
  EXPECT_GT(bytes.size(), 8u << 20);
  Result<UpperIndex> read = decoded(std::move(bytes));
  ASSERT_TRUE(read) << read.error().message;
  expect_same(*read, index);
}

TEST(UpperIndex, RefusesPathsThatCouldLeaveTheLayer) {
  EXPECT_EQ(refusal({{"../etc/passwd"}, {}}),
            "protocol: the `upper-index` blob names the path `../etc/passwd`, which climbs out of the container's "
            "layer");
  EXPECT_EQ(refusal({{"a/../../x"}, {}}),
            "protocol: the `upper-index` blob names the path `a/../../x`, which climbs out of the container's layer");
  EXPECT_EQ(refusal({{"/etc/shadow"}, {}}),
            "protocol: the `upper-index` blob names the path `/etc/shadow`, which is absolute");
  EXPECT_EQ(refusal({{}, {{"../../\xe9vil", 0644, 0, 0, 0}}}),
            "protocol: the `upper-index` blob names the path `../../\\xe9vil`, which climbs out of the container's "
            "layer");
}

TEST(UpperIndex, RefusesPathsNoSourceWrites) {
  EXPECT_EQ(refusal({{""}, {}}), "protocol: the `upper-index` blob names the path ``, which is empty");
  EXPECT_EQ(refusal({{std::string("a\0/..", 5)}, {}}),
            "protocol: the `upper-index` blob names the path `a\\x00/..`, which holds a NUL byte");
  EXPECT_EQ(refusal({{"a//b"}, {}}),
            "protocol: the `upper-index` blob names the path `a//b`, which is not a plain relative path");
  EXPECT_EQ(refusal({{"./a"}, {}}),
            "protocol: the `upper-index` blob names the path `./a`, which is not a plain relative path");
  EXPECT_EQ(refusal({{"dir/"}, {}}),
            "protocol: the `upper-index` blob names the path `dir/`, which is not a plain relative path");
}

TEST(UpperIndex, RefusesADeltaModeBeyondPermissionBits) {
  EXPECT_EQ(refusal({{}, {{"big", 0100644, 0, 0, 0}}}),
            "protocol: the `upper-index` blob gives the delta of `big` the mode 33188 (at most 07777)");
}

TEST(UpperIndex, RefusesAStreamCutShort) {
  std::vector<std::byte> bytes = encoded({{"a", "b"}, {}});
  bytes.pop_back();  // the end record
  EXPECT_EQ(refusal_of(bytes), "protocol: the `upper-index` blob is cut short (it lacks its end record)");
  EXPECT_EQ(refusal_of({}), "protocol: the `upper-index` blob is cut short (it lacks its end record)");
}

TEST(UpperIndex, RefusesBytesAfterTheEnd) {
  std::vector<std::byte> bytes = encoded({{"a"}, {}});
  bytes.push_back(std::byte('D'));
  EXPECT_EQ(refusal_of(bytes), "protocol: the `upper-index` blob goes on after its end record");
}

TEST(UpperIndex, RefusesAnotherFormat) {
  std::string json = R"({"deleted":["a"]})";
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(json.data()),
                               reinterpret_cast<const std::byte*>(json.data() + json.size()));
  EXPECT_EQ(refusal_of(bytes),
            "protocol: the `upper-index` blob does not start with the upper-index magic and version 1");
}

TEST(UpperIndex, RefusesAHugePathLengthWithoutWaitingForItsBytes) {
  std::vector<std::byte> bytes = encoded({});
  bytes.pop_back();
  for (int byte : {int('D'), 0xff, 0xff, 0xff, 0xff}) bytes.push_back(static_cast<std::byte>(byte));
  EXPECT_EQ(refusal_of(bytes),
            "protocol: the `upper-index` blob names a path of 4294967295 bytes (PATH_MAX is 4096)");
}

TEST(UpperIndex, RefusesAnUnknownRecord) {
  std::vector<std::byte> bytes = encoded({});
  bytes.back() = std::byte('\n');
  EXPECT_EQ(refusal_of(bytes), "protocol: the `upper-index` blob has a record of the unknown kind `\\x0a`");
}

TEST(UpperIndex, WriterRefusesAPathLongerThanPathMax) {
  VectorSink sink;
  Status written = write_upper_index({{std::string(5000, 'x')}, {}}, sink);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("is longer than 4096 bytes"), std::string::npos) << written.error().message;
}

}  // namespace
}  // namespace dockmig::migrate
