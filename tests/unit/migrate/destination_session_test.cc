// Hostile peers against the destination's session code: a message of the wrong shape must
// fail its session with a protocol error that says what was wrong (also told to the peer
// in an Error frame), and the agent must go on serving the next session.
#include <gtest/gtest.h>

#include <stdexcept>

#include "base/exception_boundary.h"
#include "migrate/destination_migration.h"
#include "migrate/memory_sync.h"
#include "migrate/tree_sync.h"
#include "migrate/warm_store.h"
#include "unit/migrate/peer_wire.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::migrate {
namespace {

using testing::Bytes;
using testing::frames_of;
using testing::serve_from_peer;
using testing::Served;
using namespace std::chrono_literals;

Bytes messages(std::initializer_list<std::string_view> texts) {
  Bytes wire;
  for (std::string_view text : texts) testing::append_message(wire, text);
  return wire;
}

class DestinationSessionTest : public transfer::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    docker_.emplace(std::filesystem::temp_directory_path() /
                    ("dockmig-refusing-docker-" + std::to_string(getpid()) + ".sock"));  // sun_path is short
    Result<docker::EngineClient> engine = docker::EngineClient::open(docker_->address());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_.emplace(std::move(*engine));
    std::filesystem::create_directories(dir_ / "staging");
    context_.emplace(DestinationContext{*engine_, dir_ / "staging", ledger_, {}});
  }

  Served serve(const Bytes& wire) {
    return serve_from_peer(wire, [&](Session& session) { return serve_session(session, *context_); });
  }

  /// The session failed with `message`, and told the peer so in an Error frame.
  void expect_refused(const Served& served, const std::string& message) {
    ASSERT_FALSE(served.status);
    EXPECT_EQ(served.status.error().code, ErrorCode::InvalidInput);
    EXPECT_EQ(served.status.error().message, message);
    std::vector<testing::ReplyFrame> frames = frames_of(served.reply);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().kind, transfer::FrameKind::Error);
    EXPECT_NE(frames.back().payload.find(nlohmann::json(message).dump()), std::string::npos) << frames.back().payload;
  }

  std::optional<testing::RefusingDockerSocket> docker_;
  std::optional<docker::EngineClient> engine_;
  MigrationLedger ledger_;
  std::optional<DestinationContext> context_;
};

TEST_F(DestinationSessionTest, TypeThatIsANumberFailsTheSessionWithAProtocolError) {
  expect_refused(serve(messages({R"({"type":1})"})),
                 "protocol: `type` of the first message is a number (1); expected a string");
}

TEST_F(DestinationSessionTest, StringWhereAnObjectBelongsInPrepareIsNamed) {
  expect_refused(serve(messages({R"({"type":"prepare","migration":"0123456789abcdef","name":"web1",)"
                                 R"("image":"busybox","checkpoint":"dockmig-0123456789abcdef","create":"{}"})"})),
                 "protocol: `create` of the `prepare` message is a string (\"{}\"); expected an object");
}

TEST_F(DestinationSessionTest, MissingFieldInPrepareIsNamed) {
  expect_refused(serve(messages({R"({"type":"prepare","name":"web1"})"})),
                 "protocol: the `prepare` message lacks `migration` (a string)");
}

TEST_F(DestinationSessionTest, UnknownRestoreModeIsRefused) {
  expect_refused(serve(messages({R"({"type":"prepare","migration":"0123456789abcdef","name":"web1",)"
                                 R"("image":"busybox","checkpoint":"dockmig-0123456789abcdef","create":{},)"
                                 R"("restore":"post-copy"})"})),
                 "the source's prepare asks for an unknown `restore` mode");
}

TEST_F(DestinationSessionTest, NumberWhereAStringBelongsInStatusIsNamed) {
  expect_refused(serve(messages({R"({"type":"status","migration":12})"})),
                 "protocol: `migration` of the `status` message is a number (12); expected a string");
}

TEST_F(DestinationSessionTest, WarmWithAnImageThatIsAListIsNamed) {
  expect_refused(serve(messages({R"({"type":"warm","image":["busybox"]})"})),
                 "protocol: `image` of the `warm` message is an array ([\"busybox\"]); expected a string");
}

// The source has dropped its side of a preparation this old; the destination's blob of it
// would only take disk, also across restarts, which keep the warm dirs.
TEST_F(DestinationSessionTest, ANewPreparationDropsExpiredOnes) {
  std::filesystem::path expired = dir_ / "staging/warm/00000000000000aa";
  std::filesystem::path recent = dir_ / "staging/warm/00000000000000bb";
  std::filesystem::create_directories(expired);
  std::filesystem::create_directories(recent);
  std::filesystem::last_write_time(expired, std::filesystem::file_time_type::clock::now() - kWarmTtl - 60s);
  serve(messages({R"({"type":"warm","image":"busybox","warm":"0123456789abcdef"})"}));  // no dockerd: fails later
  EXPECT_FALSE(std::filesystem::exists(expired));
  EXPECT_TRUE(std::filesystem::exists(recent));
}

TEST_F(DestinationSessionTest, RepoDigestsThatAreAStringAreNamed) {
  expect_refused(serve(messages({R"({"type":"prepare","migration":"0123456789abcdef","name":"web1",)"
                                 R"("image":"busybox","checkpoint":"dockmig-0123456789abcdef","create":{},)"
                                 R"("repo_digests":"busybox@sha256:00"})"})),
                 "protocol: `repo_digests` of the `prepare` message is a string (\"busybox@sha256:00\"); "
                 "expected a list");
}

TEST_F(DestinationSessionTest, RepoDigestThatIsANumberIsNamed) {
  expect_refused(serve(messages({R"({"type":"warm","image":"busybox","repo_digests":[7]})"})),
                 "protocol: `repo_digests[0]` of the `warm` message is a number (7); expected a string");
}

TEST_F(DestinationSessionTest, RepoDigestWithoutADigestIsRefused) {
  std::string prepare = R"({"type":"prepare","migration":"0123456789abcdef","name":"web1","image":"busybox",)"
                        R"("checkpoint":"dockmig-0123456789abcdef","create":{},"repo_digests":["busybox@sha256:)" +
                        std::string(64, 'a') + R"(","busybox:1.36"]})";
  expect_refused(serve(messages({prepare})),
                 "protocol: `repo_digests[1]` of the `prepare` message is not NAME@sha256:DIGEST");
}

TEST_F(DestinationSessionTest, RefusedPrepareLeavesAnotherMigrationsStateAlone) {
  ASSERT_TRUE(ledger_.begin("0123456789abcdef", "web1", "peer"));
  ASSERT_TRUE(ledger_.decide("0123456789abcdef", "committed", /*container_removed=*/false));
  Served served = serve(messages({R"({"type":"prepare","migration":"0123456789abcdef","name":"web1"})"}));
  EXPECT_FALSE(served.status);
  EXPECT_EQ(ledger_.get("0123456789abcdef"), "committed");
}

TEST_F(DestinationSessionTest, ServesTheNextSessionAfterAHostileOne) {
  EXPECT_FALSE(serve(messages({R"({"type":1})"})).status);
  EXPECT_FALSE(serve(messages({R"({"type":"status","migration":["x"]})"})).status);
  Served next = serve(messages({R"({"type":"status","migration":"0123456789abcdef"})"}));
  ASSERT_TRUE(next.status) << next.status.error().message;
  std::vector<testing::ReplyFrame> frames = frames_of(next.reply);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(frames[0].payload), (nlohmann::json{{"type", "status"}, {"state", "unknown"}}));
}

TEST_F(DestinationSessionTest, PrepareWithoutAReachableDockerFailsCleanly) {
  Served served = serve(messages({R"({"type":"prepare","migration":"0123456789abcdef","name":"web1",)"
                                  R"("image":"busybox","checkpoint":"dockmig-0123456789abcdef","create":{}})"}));
  ASSERT_FALSE(served.status);
  EXPECT_EQ(ledger_.get("0123456789abcdef"), "aborted");
}

class UpperReceiveTest : public transfer::testing::ScratchDirTest {
 protected:
  Status receive(const Bytes& wire) {
    std::filesystem::create_directories(dir_ / "upper");
    return serve_from_peer(wire, [&](Session& session) {
             return receive_synced_tree(session, {dir_ / "upper", dir_, 3}, /*then_sign=*/true);
           }).status;
  }
};

TEST_F(UpperReceiveTest, WholeThatIsAStringIsNamed) {
  Status received = receive(messages({R"({"type":"upper","whole":"yes"})"}));
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().message,
            "protocol: `whole` of the `upper` message is a string (\"yes\"); expected true or false");
}

TEST_F(UpperReceiveTest, ChangesWithoutTheirIndexBlobAreNamed) {
  Status received = receive(messages({R"({"type":"upper","whole":false,"deleted":["etc/a"]})",
                                      R"({"type":"blob","name":"upper-changes"})"}));
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().message,
            "receiving blob `upper-index` from `fuzz-source`: got {\"name\":\"upper-changes\",\"type\":\"blob\"} instead");
}

TEST_F(UpperReceiveTest, TypeThatIsANumberIsNamedWithThePeer) {
  Status received = receive(messages({R"({"type":1})"}));
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().message,
            "protocol: `type` of the message from fuzz-source is a number (1); expected a string");
}

class MemoryReceiveTest : public transfer::testing::ScratchDirTest {
 protected:
  Status receive(const Bytes& wire) {
    return serve_from_peer(wire, [&](Session& session) -> Status {
             Result<MemoryReceiver> memory = MemoryReceiver::create(dir_);
             if (!memory) return std::move(memory.error());
             Result<bool> pages_follow = memory->receive_rounds(session);
             if (!pages_follow) return std::move(pages_follow.error());
             return memory->receive_frozen(session, dir_ / "images");
           }).status;
  }
};

TEST_F(MemoryReceiveTest, PrecopyEndWithAStringForMemoryIsNamed) {
  Status received = receive(messages({R"({"type":"precopy-end","memory":"true"})"}));
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().message,
            "protocol: `memory` of the `precopy-end` message is a string (\"true\"); expected true or false");
}

TEST_F(MemoryReceiveTest, ImagePagesThatAreNegativeAreNamed) {
  Status received = receive(messages(
      {R"({"type":"precopy-end","memory":true})", R"({"type":"memory","images":[{"name":"pages-1.img","pages":-1}]})"}));
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().message, "protocol: `pages` of images[0] of the `memory` message is a number (-1); "
                                      "expected a whole number from 0 to 4294967296");
}

TEST_F(MemoryReceiveTest, ImageThatIsAStringIsNamed) {
  Status received = receive(messages({R"({"type":"precopy-end","memory":true})",
                                      R"({"type":"memory","images":"pages-1.img"})"}));
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().message,
            "protocol: `images` of the `memory` message is a string (\"pages-1.img\"); expected a list");
}

TEST(ContainExceptions, TurnsAnExceptionIntoTheSessionsInternalError) {
  Status contained = base::contain_exceptions("the link from 10.0.0.1:4000", []() -> Status {
    throw std::runtime_error("[json.exception.type_error.302] type must be string, but is number");
  });
  ASSERT_FALSE(contained);
  EXPECT_EQ(contained.error().code, ErrorCode::Internal);
  EXPECT_EQ(contained.error().message, "the link from 10.0.0.1:4000: unexpected exception: "
                                       "[json.exception.type_error.302] type must be string, but is number");
}

TEST(ContainExceptions, ContainsWhatIsNotAStdException) {
  Status contained = base::contain_exceptions("a session", []() -> Status { throw 42; });
  ASSERT_FALSE(contained);
  EXPECT_EQ(contained.error().message, "a session: unexpected exception of an unknown type");
}

TEST(ContainExceptions, PassesTheBodysOwnResultThrough) {
  EXPECT_TRUE(base::contain_exceptions("a session", [] { return Status(); }));
  Status failed = base::contain_exceptions("a session", [] { return Status(make_error(ErrorCode::Io, "disk")); });
  EXPECT_EQ(failed.error().message, "disk");
}

}  // namespace
}  // namespace dockmig::migrate
