#include "hostnet/neighbor_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/subprocess.h"
#include "unit/hostnet/private_namespace.h"

namespace dockmig::hostnet {
namespace {

TEST(ParseMac, ReadsSixHexBytes) {
  std::optional<MacAddress> mac = parse_mac("02:42:ac:11:00:0f");
  ASSERT_TRUE(mac);
  EXPECT_EQ((*mac)[0], 0x02);
  EXPECT_EQ((*mac)[5], 0x0f);
  EXPECT_FALSE(parse_mac("02:42:ac:11:00"));
  EXPECT_FALSE(parse_mac("02:42:ac:11:00:0f:10"));
  EXPECT_FALSE(parse_mac(""));
}

TEST(LearnNeighbor, RejectsAnAddressThatIsNotIpv4) {
  Result<int> learned = learn_neighbor("fe80::1", MacAddress{});
  ASSERT_FALSE(learned);
  EXPECT_EQ(learned.error().code, ErrorCode::InvalidInput);
}

// In a network namespace of its own: a packet to an address with no answer leaves an
// INCOMPLETE entry (what a client's packet leaves while a restored container's interface
// is not up yet); learning the address makes it reachable at once.
int learn_in_private_namespace() {
  for (auto command : {std::vector<std::string>{"ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"},
                       std::vector<std::string>{"ip", "addr", "add", "10.9.0.1/24", "dev", "v0"},
                       std::vector<std::string>{"ip", "link", "set", "v0", "up"}}) {
    Result<base::Exit> done = base::run(command);
    if (!done || done->code != 0) return 11;
  }
  int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in nobody{};
  nobody.sin_family = AF_INET;
  nobody.sin_port = htons(9);
  ::inet_pton(AF_INET, "10.9.0.2", &nobody.sin_addr);
  ::sendto(udp, "x", 1, 0, reinterpret_cast<sockaddr*>(&nobody), sizeof(nobody));
  ::close(udp);
  Result<base::Exit> before = base::run({"ip", "neigh", "show", "10.9.0.2"});
  bool waiting = before && (before->out.find("INCOMPLETE") != std::string::npos ||
                            before->out.find("FAILED") != std::string::npos);
  if (!waiting) return 12;
  Result<int> learned = learn_neighbor("10.9.0.2", *parse_mac("02:42:0a:09:00:02"));
  if (!learned || *learned != 1) return 13;
  Result<base::Exit> after = base::run({"ip", "neigh", "show", "10.9.0.2"});
  if (!after || after->out.find("lladdr 02:42:0a:09:00:02 REACHABLE") == std::string::npos) return 14;
  Result<int> nothing_to_learn = learn_neighbor("10.9.0.3", *parse_mac("02:42:0a:09:00:03"));
  return nothing_to_learn && *nothing_to_learn == 0 ? 0 : 15;
}

TEST(LearnNeighbor, MakesAWaitingEntryReachable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a network namespace";
  if (base::find_on_path("ip").empty()) GTEST_SKIP() << "needs iproute2's ip to set up the namespace";
  // -1: no child, 10: unshare, 11: setup, 12: no waiting entry, 13: learn failed, 14: not reachable, 15: false hit
  EXPECT_EQ(exit_code_in_private_namespace(learn_in_private_namespace), 0);
}

}  // namespace
}  // namespace dockmig::hostnet
