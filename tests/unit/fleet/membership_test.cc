#include "fleet/membership.h"

#include <gtest/gtest.h>

namespace dockmig::fleet {
namespace {

// Nothing listens on port 9 (discard) here: the connection is refused at once.
TEST(Membership, AnUnreachableEtcdAtJoinIsAClearError) {
  Result<etcd::Client> etcd = etcd::Client::open("http://127.0.0.1:9", {}, std::chrono::milliseconds(500));
  ASSERT_TRUE(etcd);
  HostRecord host;
  host.name = "edge-x";
  Result<std::unique_ptr<Membership>> member =
      Membership::join(*etcd, [host] { return Result<HostRecord>(host); }, std::chrono::seconds(5));
  ASSERT_FALSE(member);
  EXPECT_NE(member.error().message.find("joining the fleet at etcd http://127.0.0.1:9"), std::string::npos)
      << member.error().message;
}

}  // namespace
}  // namespace dockmig::fleet
