#include "migrate/peer_message.h"

#include <gtest/gtest.h>

namespace dockmig::migrate {
namespace {

using nlohmann::json;

TEST(PeerMessage, ReadsFieldsOfTheirTypes) {
  json message = {{"type", "prepare"}, {"migration", "0123456789abcdef"}, {"warm", true}, {"pages", 7},
                  {"mtime_ns", -5}, {"create", {{"Image", "busybox"}}}, {"deleted", {"a", "b/c"}}};
  PeerMessage fields(message);
  EXPECT_EQ(fields.type(), "prepare");
  EXPECT_EQ(fields.string("migration"), "0123456789abcdef");
  EXPECT_TRUE(fields.boolean_or("warm", false));
  EXPECT_EQ(fields.count("pages"), 7u);
  EXPECT_EQ(fields.integer("mtime_ns"), -5);
  EXPECT_EQ(fields.object("create").value("Image", ""), "busybox");
  EXPECT_EQ(fields.strings_or_empty("deleted"), (std::vector<std::string>{"a", "b/c"}));
  EXPECT_TRUE(fields.status());
}

TEST(PeerMessage, AbsentOptionalFieldsTakeTheirFallback) {
  json message = {{"type", "upper"}};
  PeerMessage fields(message);
  EXPECT_FALSE(fields.boolean_or("whole", false));
  EXPECT_EQ(fields.string_or("warm", "none"), "none");
  EXPECT_EQ(fields.count_or("round", 3), 3u);
  EXPECT_TRUE(fields.list_or_empty("deltas").empty());
  EXPECT_TRUE(fields.strings_or_empty("deleted").empty());
  EXPECT_TRUE(fields.status());
}

TEST(PeerMessage, TypeThatIsANumberNamesTheFieldAndWhatWasExpected) {
  json message = {{"type", 1}};
  PeerMessage fields(message);
  EXPECT_EQ(fields.type(), "");
  ASSERT_FALSE(fields.status());
  EXPECT_EQ(fields.status().error().code, ErrorCode::InvalidInput);
  EXPECT_EQ(fields.status().error().message, "protocol: `type` of a message is a number (1); expected a string");
}

TEST(PeerMessage, StringWhereANumberBelongsNamesTheMessage) {
  json message = {{"type", "pages-stored"}, {"pages", "12"}};
  PeerMessage fields(message);
  EXPECT_EQ(fields.count("pages"), 0u);
  ASSERT_FALSE(fields.status());
  EXPECT_EQ(fields.status().error().message,
            "protocol: `pages` of the `pages-stored` message is a string (\"12\"); expected a whole number, 0 or more");
}

TEST(PeerMessage, MissingRequiredFieldSaysWhatItShouldHaveBeen) {
  json message = {{"type", "prepare"}};
  PeerMessage fields(message);
  EXPECT_EQ(fields.string("migration"), "");
  ASSERT_FALSE(fields.status());
  EXPECT_EQ(fields.status().error().message, "protocol: the `prepare` message lacks `migration` (a string)");
}

TEST(PeerMessage, KeepsTheFirstProblem) {
  json message = {{"type", "prepare"}, {"name", false}};
  PeerMessage fields(message);
  fields.string("migration");
  fields.string("name");
  EXPECT_NE(fields.status().error().message.find("lacks `migration`"), std::string::npos);
}

TEST(PeerMessage, RefusesNumbersOutOfRange) {
  json message = {{"type", "upper"}, {"mode", 70000}, {"negative", -1}, {"fraction", 1.5}, {"huge", 1e300},
                  {"big", uint64_t{1} << 63}};
  PeerMessage mode(message);
  mode.count("mode", 07777);
  EXPECT_EQ(mode.status().error().message,
            "protocol: `mode` of the `upper` message is 70000; expected a whole number from 0 to 4095");
  for (const char* key : {"negative", "fraction", "huge"}) {
    PeerMessage fields(message);
    EXPECT_EQ(fields.count(key), 0u);
    EXPECT_FALSE(fields.status()) << key;
  }
  PeerMessage big(message);
  EXPECT_EQ(big.integer("big"), 0);
  EXPECT_FALSE(big.status());
}

TEST(PeerMessage, ElementThatIsNotAnObjectIsNamedByItsPlace) {
  json images = json::array({42});
  PeerMessage image(images[0], "images[0] of the `memory` message");
  EXPECT_EQ(image.string("name"), "");
  EXPECT_EQ(image.status().error().message,
            "protocol: images[0] of the `memory` message is a number (42); expected an object");
}

TEST(PeerMessage, ListElementOfTheWrongTypeIsNamedByItsIndex) {
  json message = {{"type", "upper"}, {"deleted", {"a", 5}}};
  PeerMessage fields(message);
  EXPECT_TRUE(fields.strings_or_empty("deleted").empty());
  EXPECT_EQ(fields.status().error().message,
            "protocol: `deleted[1]` of the `upper` message is a number (5); expected a string");
}

TEST(PeerMessage, LongValuesAreNotQuotedInTheError) {
  json message = {{"type", "upper"}, {"whole", std::string(100, 'x')}};
  PeerMessage fields(message);
  fields.boolean_or("whole", false);
  EXPECT_EQ(fields.status().error().message, "protocol: `whole` of the `upper` message is a string; expected true or false");
}

TEST(MessageType, IsEmptyUnlessAString) {
  EXPECT_EQ(message_type(json{{"type", "commit"}}), "commit");
  EXPECT_EQ(message_type(json{{"type", 1}}), "");
  EXPECT_EQ(message_type(json::array()), "");
}

}  // namespace
}  // namespace dockmig::migrate
