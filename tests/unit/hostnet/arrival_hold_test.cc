#include "hostnet/arrival_hold.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "base/subprocess.h"
#include "base/unique_fd.h"
#include "unit/hostnet/private_namespace.h"

namespace dockmig::hostnet {
namespace {

constexpr uint16_t kHeldPort = 19000;
constexpr uint16_t kOpenPort = 19001;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void send_to(uint16_t port, const char* text) {
  base::UniqueFd udp(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in to = loopback(port);
  ::sendto(udp.get(), text, std::strlen(text), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
}

base::UniqueFd listen_on(uint16_t port) {
  base::UniqueFd udp(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in at = loopback(port);
  if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&at), sizeof(at)) != 0) return {};
  return udp;
}

// What arrives within `wait_ms`, or "" when nothing does.
std::string received(int socket_fd, int wait_ms) {
  pollfd ready{socket_fd, POLLIN, 0};
  if (::poll(&ready, 1, wait_ms) != 1) return "";
  char buffer[64];
  ssize_t got = ::recv(socket_fd, buffer, sizeof(buffer), 0);
  return got > 0 ? std::string(buffer, static_cast<size_t>(got)) : "";
}

bool rules_name(const std::string& owner) {
  Result<base::Exit> listed = base::run({"iptables", "-w", "5", "-t", "raw", "-S", "DOCKMIG-HOLD"});
  return listed && listed->out.find("dockmig hold " + owner) != std::string::npos;
}

// In a network namespace of its own: a datagram sent before anything listens is lost
// without a hold and delivered after one; the rules go with the hold, and a killed
// holder's rules with drop_stale_holds. The exit code says which step failed.
int hold_in_private_namespace() {
  Result<base::Exit> up = base::run({"ip", "link", "set", "lo", "up"});
  if (!up || up->code != 0) return 11;

  send_to(kOpenPort, "unheld");
  base::UniqueFd open_port = listen_on(kOpenPort);
  if (!open_port || !received(open_port.get(), 300).empty()) return 12;  // the control: lost

  Result<std::unique_ptr<ArrivalHold>> hold = ArrivalHold::start("test", {{"udp", "", kHeldPort}});
  if (!hold) return 13;
  if (!rules_name("test")) return 14;
  send_to(kHeldPort, "held");
  base::UniqueFd held_port = listen_on(kHeldPort);
  if (!held_port || !received(held_port.get(), 300).empty()) return 15;  // still waiting
  if ((*hold)->release() != 1) return 16;
  if (received(held_port.get(), 5000) != "held") return 17;
  if (rules_name("test")) return 18;
  send_to(kHeldPort, "after");
  if (received(held_port.get(), 5000) != "after") return 19;

  pid_t holder = ::fork();
  if (holder == 0) {
    Result<std::unique_ptr<ArrivalHold>> left = ArrivalHold::start("killed", {{"tcp", "127.0.0.1", kHeldPort}});
    ::_exit(left ? 0 : 1);  // without release: as an agent killed mid-restore
  }
  int status = 0;
  if (holder < 0 || ::waitpid(holder, &status, 0) != holder || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return 20;
  if (!rules_name("killed")) return 21;
  if (!drop_stale_holds() || rules_name("killed")) return 22;
  return 0;
}

TEST(ArrivalHold, DeliversWhatArrivedBeforeTheServiceListened) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a network namespace";
  if (base::find_on_path("ip").empty() || base::find_on_path("iptables").empty())
    GTEST_SKIP() << "needs iproute2's ip and iptables";
  // -1: no child, 10-11: setup, 12: the unheld datagram arrived, 13: no hold, 14: no rule, 15: not held,
  // 16: not counted, 17: not delivered, 18: rule left, 19: later datagram lost,
  // 20-21: the killed holder, 22: its rule stayed
  EXPECT_EQ(exit_code_in_private_namespace(hold_in_private_namespace), 0);
}

}  // namespace
}  // namespace dockmig::hostnet
