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

}  // namespace
}  // namespace dockmig::migrate
