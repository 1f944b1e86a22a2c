// The etcd client against a real etcd with auth enabled and simple tokens that expire
// after 1 s unused (tests/integration/etcd_auth.sh sets it up and runs these): the etcd in
// DOCKMIG_ETCD, as DOCKMIG_ETCD_USER with the password in DOCKMIG_ETCD_PASSWORD_FILE, a
// user whose role covers /dockmig/ only.
#include <cstdlib>
#include <stop_token>
#include <thread>

#include <unistd.h>

#include <gtest/gtest.h>

#include "etcd/client.h"

namespace dockmig {
namespace {

using std::chrono::seconds;

// Longer than the token's TTL of etcd_auth.sh's etcd, and its check every second.
constexpr seconds kTokenExpired{3};

class AuthEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("DOCKMIG_ETCD");
    const char* user = std::getenv("DOCKMIG_ETCD_USER");
    const char* password_file = std::getenv("DOCKMIG_ETCD_PASSWORD_FILE");
    if (url == nullptr || user == nullptr || password_file == nullptr)
      GTEST_SKIP() << "DOCKMIG_ETCD, DOCKMIG_ETCD_USER and DOCKMIG_ETCD_PASSWORD_FILE name no etcd with auth "
                      "(tests/integration/etcd_auth.sh sets them)";
    url_ = url;
    security_.user = user;
    security_.password_file = password_file;
    client_.emplace(open());
    prefix_ = "/dockmig/auth-test/" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "/";
  }
  etcd::Client open() {
    Result<etcd::Client> client = etcd::Client::open(url_, security_);
    EXPECT_TRUE(client) << client.error().describe();
    return std::move(*client);
  }
  const etcd::Client& etcd() { return *client_; }
  std::string key(const std::string& name) { return prefix_ + name; }

  std::string url_;
  etcd::ClientSecurity security_;
  std::optional<etcd::Client> client_;
  std::string prefix_;
};

TEST_F(AuthEtcd, CallsGoOnAfterTheTokenExpired) {
  ASSERT_TRUE(etcd().put(key("a"), "1"));
  std::this_thread::sleep_for(kTokenExpired);
  Result<std::optional<etcd::KeyValue>> got = etcd().get(key("a"));
  ASSERT_TRUE(got) << got.error().describe();
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->value, "1");
  std::this_thread::sleep_for(kTokenExpired);
  // A swap is never sent twice blindly; one refused for its token was not applied.
  Result<etcd::SwapOutcome> swapped = etcd().put_if_mod_revision(key("a"), (*got)->mod_revision, "2");
  ASSERT_TRUE(swapped) << swapped.error().describe();
  EXPECT_TRUE(swapped->succeeded);
}

TEST_F(AuthEtcd, AWatchOpensAfterTheTokenExpired) {
  Result<etcd::RangeAnswer> read = etcd().get_prefix_at(key("w/"));
  ASSERT_TRUE(read) << read.error().describe();
  std::this_thread::sleep_for(kTokenExpired);
  ASSERT_TRUE(open().put(key("w/b"), "written by another client"));
  std::stop_source stop;
  std::jthread deadline([&stop](std::stop_token cancelled) {
    for (int i = 0; i < 100 && !cancelled.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  std::vector<etcd::WatchEvent> seen;
  Status watched = etcd().watch_prefix(
      key("w/"), read->revision + 1,
      [&](const std::vector<etcd::WatchEvent>& events) {
        seen.insert(seen.end(), events.begin(), events.end());
        return false;
      },
      stop.get_token());
  ASSERT_TRUE(watched) << watched.error().describe();
  ASSERT_EQ(seen.size(), 1u) << "no event within 10 s";
  EXPECT_EQ(seen[0].kv.key, key("w/b"));
}

TEST_F(AuthEtcd, AKeyBeyondTheRoleIsRefusedWithWhatToGrant) {
  Status put = etcd().put("/elsewhere" + prefix_, "x");
  ASSERT_FALSE(put);
  EXPECT_NE(put.error().message.find("permission denied"), std::string::npos) << put.error().describe();
  EXPECT_NE(put.error().hint.find("/dockmig/"), std::string::npos) << put.error().describe();
}

}  // namespace
}  // namespace dockmig
