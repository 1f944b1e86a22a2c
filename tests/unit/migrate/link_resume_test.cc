#include "migrate/link_resume.h"

#include <gtest/gtest.h>

#include <thread>

#include "unit/transfer/transfer_test_support.h"

namespace dockmig::migrate {
namespace {

using std::chrono::milliseconds;

const std::string kToken = "0123456789abcdef0123456789abcdef";

TEST(LinkResume, TokensAreThirtyTwoHexDigits) {
  EXPECT_TRUE(valid_resume_token(new_resume_token()));
  EXPECT_NE(new_resume_token(), new_resume_token());
  EXPECT_FALSE(valid_resume_token(""));
  EXPECT_FALSE(valid_resume_token("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(valid_resume_token(kToken + "0"));
}

TEST(LinkResume, HandsTheReturningSourcesConnectionToTheWaitingSession) {
  LinkResumes resumes;
  int broken = 0;
  auto registration = resumes.open("aaaa0000bbbb1111", kToken, "edge-a", [&] { ++broken; });
  auto [client, server] = transfer::testing::connected_pair();
  std::string peer = server.peer();
  std::thread waiting([&] {
    Result<transfer::Connection> got = resumes.await("aaaa0000bbbb1111", milliseconds(5000));
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->peer(), peer);
  });
  std::this_thread::sleep_for(milliseconds(100));
  Status offered = resumes.offer("aaaa0000bbbb1111", kToken, "edge-a", [&] { return std::move(server); });
  waiting.join();
  EXPECT_TRUE(offered) << offered.error().message;
  EXPECT_EQ(broken, 0);  // it knew its link was gone already
}

TEST(LinkResume, BreaksTheLinkOfASessionThatHasNotNoticedYet) {
  LinkResumes resumes;
  int broken = 0;
  auto registration = resumes.open("aaaa0000bbbb1111", kToken, "", [&] { ++broken; });
  auto [client, server] = transfer::testing::connected_pair();
  ASSERT_TRUE(resumes.offer("aaaa0000bbbb1111", kToken, "", [&] { return std::move(server); }));
  EXPECT_EQ(broken, 1);
  EXPECT_TRUE(resumes.await("aaaa0000bbbb1111", milliseconds(10)));
}

TEST(LinkResume, RefusesAWrongTokenAnotherCertificateAndAnUnknownMigration) {
  LinkResumes resumes;
  auto registration = resumes.open("aaaa0000bbbb1111", kToken, "edge-a", [] {});
  int taken = 0;
  auto take = [&] {
    ++taken;
    return transfer::testing::connected_pair().first;
  };
  Status wrong_token = resumes.offer("aaaa0000bbbb1111", "ffffffffffffffffffffffffffffffff", "edge-a", take);
  Status wrong_name = resumes.offer("aaaa0000bbbb1111", kToken, "gateway", take);
  Status unknown = resumes.offer("cccc0000dddd1111", kToken, "edge-a", take);
  EXPECT_FALSE(wrong_token);
  EXPECT_FALSE(wrong_name);
  EXPECT_FALSE(unknown);
  EXPECT_NE(wrong_name.error().message.find("gateway"), std::string::npos);
  EXPECT_EQ(taken, 0);
}

TEST(LinkResume, GivesUpAfterTheGracePeriodAndForgetsAClosedSession) {
  LinkResumes resumes;
  auto registration = resumes.open("aaaa0000bbbb1111", kToken, "", [] {});
  Result<transfer::Connection> none = resumes.await("aaaa0000bbbb1111", milliseconds(50));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::Timeout);
  registration.reset();
  auto [client, server] = transfer::testing::connected_pair();
  EXPECT_FALSE(resumes.offer("aaaa0000bbbb1111", kToken, "", [&] { return std::move(server); }));
}


const std::string kContainer(64, 'c');

// A session of kContainer from edge-a that waits for its source on a thread of its own, and
// ends (its registration released, as when its rollback is done) once its wait failed.
struct WaitingSession {
  explicit WaitingSession(LinkResumes& resumes, const std::string& migration = "aaaa0000bbbb1111")
      : registration(resumes.open(migration, kToken, "edge-a", [] {})) {
    resumes.name_source(migration, kContainer, "certificate edge-a");
  }
  void wait_in(LinkResumes& resumes, const std::string& migration = "aaaa0000bbbb1111") {
    waiter = std::thread([&resumes, migration, this] {
      outcome = resumes.await(migration, milliseconds(5000));
      registration.reset();
    });
  }
  std::shared_ptr<void> registration;
  std::thread waiter;
  Result<transfer::Connection> outcome = make_error(ErrorCode::Internal, "did not wait");
};

TEST(LinkResume, ANewMigrationOfTheContainerSupersedesASessionWaitingBeforeTheFreeze) {
  LinkResumes resumes;
  WaitingSession earlier(resumes);
  earlier.wait_in(resumes);
  Status superseded = resumes.supersede(kContainer, "certificate edge-a", "eeee0000ffff1111", milliseconds(5000));
  earlier.waiter.join();
  EXPECT_TRUE(superseded) << superseded.error().message;
  ASSERT_FALSE(earlier.outcome);
  EXPECT_EQ(earlier.outcome.error().code, ErrorCode::Conflict);
  EXPECT_NE(earlier.outcome.error().message.find("eeee0000ffff1111"), std::string::npos);
  EXPECT_EQ(earlier.registration, nullptr);  // supersede returned only once it had ended
}

TEST(LinkResume, ASessionThatWaitsOnlyLaterIsSupersededToo) {
  LinkResumes resumes;
  WaitingSession earlier(resumes);
  std::thread late([&] {
    std::this_thread::sleep_for(milliseconds(100));  // still busy when the new migration comes
    earlier.wait_in(resumes);
  });
  Status superseded = resumes.supersede(kContainer, "certificate edge-a", "eeee0000ffff1111", milliseconds(5000));
  late.join();
  earlier.waiter.join();
  EXPECT_TRUE(superseded) << superseded.error().message;
  EXPECT_FALSE(earlier.outcome);
}

TEST(LinkResume, ASessionPastTheFreezeIsNeverSuperseded) {
  LinkResumes resumes;
  WaitingSession earlier(resumes);
  resumes.pass_freeze("aaaa0000bbbb1111");
  earlier.wait_in(resumes);
  Status refused = resumes.supersede(kContainer, "certificate edge-a", "eeee0000ffff1111", milliseconds(5000));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Conflict);
  EXPECT_NE(refused.error().message.find("past its freeze"), std::string::npos);
  auto [client, server] = transfer::testing::connected_pair();
  EXPECT_TRUE(resumes.offer("aaaa0000bbbb1111", kToken, "edge-a", [&] { return std::move(server); }));
  earlier.waiter.join();
  EXPECT_TRUE(earlier.outcome);  // its source came back and it went on
}

TEST(LinkResume, LeavesOtherContainersAndOtherPeersAlone) {
  LinkResumes resumes;
  WaitingSession earlier(resumes);
  earlier.wait_in(resumes);
  EXPECT_TRUE(resumes.supersede(std::string(64, 'd'), "certificate edge-a", "eeee0000ffff1111", milliseconds(50)));
  EXPECT_TRUE(resumes.supersede(kContainer, "certificate edge-c", "eeee0000ffff1111", milliseconds(50)));
  EXPECT_TRUE(resumes.supersede("", "certificate edge-a", "eeee0000ffff1111", milliseconds(50)));
  auto [client, server] = transfer::testing::connected_pair();
  EXPECT_TRUE(resumes.offer("aaaa0000bbbb1111", kToken, "edge-a", [&] { return std::move(server); }));
  earlier.waiter.join();
  EXPECT_TRUE(earlier.outcome);
}

TEST(LinkResume, RefusesWhileTheEarlierSessionStillTalksToItsSource) {
  LinkResumes resumes;
  WaitingSession earlier(resumes);
  Status refused = resumes.supersede(kContainer, "certificate edge-a", "eeee0000ffff1111", milliseconds(100));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Conflict);
  EXPECT_NE(refused.error().message.find("still under way"), std::string::npos);
}

TEST(LinkResume, ASupersededSessionsSourceCannotResumeIt) {
  LinkResumes resumes;
  WaitingSession earlier(resumes);
  auto keep = earlier.registration;  // its rollback takes a while: it has not ended yet
  earlier.wait_in(resumes);
  Status gave_up = resumes.supersede(kContainer, "certificate edge-a", "eeee0000ffff1111", milliseconds(200));
  earlier.waiter.join();
  EXPECT_FALSE(gave_up);  // it had not rolled back within the wait
  auto [client, server] = transfer::testing::connected_pair();
  Status offered = resumes.offer("aaaa0000bbbb1111", kToken, "edge-a", [&] { return std::move(server); });
  ASSERT_FALSE(offered);
  EXPECT_NE(offered.error().message.find("superseded"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::migrate
