// Two rtnetlink requests: a dump of the IPv4 neighbour table, then one RTM_NEWNEIGH
// (create-or-replace) per entry found for the address.
#include "hostnet/neighbor_table.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "base/unique_fd.h"

namespace dockmig::hostnet {
namespace {

struct NeighborRequest {
  nlmsghdr header;
  ndmsg body;
  char attributes[64];
};

Error netlink_error(const std::string& what, int error_number) {
  return make_error(ErrorCode::Io, "neighbour table: " + what + ": " + std::strerror(error_number));
}

void add_attribute(NeighborRequest& request, unsigned short type, const void* data, size_t size) {
  auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                              NLMSG_ALIGN(request.header.nlmsg_len));
  attribute->rta_type = type;
  attribute->rta_len = RTA_LENGTH(size);
  std::memcpy(RTA_DATA(attribute), data, size);
  request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

NeighborRequest make_request(unsigned short type, unsigned short flags, std::uint32_t sequence) {
  NeighborRequest request{};
  request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  request.header.nlmsg_type = type;
  request.header.nlmsg_flags = NLM_F_REQUEST | flags;
  request.header.nlmsg_seq = sequence;
  request.body.ndm_family = AF_INET;
  return request;
}

// Sends `request` and reads the kernel's answers until the dump ends or the request is
// acknowledged; each RTM_NEWNEIGH answer goes to `on_entry`.
Status exchange(int socket_fd, NeighborRequest& request,
                const std::function<void(const ndmsg&, const rtattr*, int)>& on_entry = {}) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(socket_fd, &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) < 0)
    return netlink_error("send", errno);
  std::vector<char> buffer(32768);
  for (;;) {
    ssize_t got = ::recv(socket_fd, buffer.data(), buffer.size(), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return netlink_error("receive", errno);
    }
    int left = static_cast<int>(got);
    for (auto* message = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(message, left);
         message = NLMSG_NEXT(message, left)) {
      if (message->nlmsg_seq != request.header.nlmsg_seq) continue;
      if (message->nlmsg_type == NLMSG_DONE) return {};
      if (message->nlmsg_type == NLMSG_ERROR) {
        int error_number = -static_cast<const nlmsgerr*>(NLMSG_DATA(message))->error;
        return error_number == 0 ? Status{} : Status(netlink_error("request refused", error_number));
      }
      if (message->nlmsg_type == RTM_NEWNEIGH && on_entry) {
        const auto* entry = static_cast<const ndmsg*>(NLMSG_DATA(message));
        on_entry(*entry, reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(entry) + NLMSG_ALIGN(sizeof(ndmsg))),
                 static_cast<int>(message->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg))));
      }
    }
  }
}

}  // namespace

std::optional<MacAddress> parse_mac(std::string_view text) {
  MacAddress mac{};
  unsigned parts[6];
  char tail;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &parts[0], &parts[1], &parts[2], &parts[3],
                  &parts[4], &parts[5], &tail) != 6)
    return std::nullopt;
  for (size_t i = 0; i < mac.size(); ++i) mac[i] = static_cast<std::uint8_t>(parts[i]);
  return mac;
}

Result<int> learn_neighbor(const std::string& ipv4, const MacAddress& mac) {
  in_addr address{};
  if (::inet_pton(AF_INET, ipv4.c_str(), &address) != 1)
    return make_error(ErrorCode::InvalidInput, "`" + ipv4 + "` is not an IPv4 address");
  base::UniqueFd socket_fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!socket_fd) return netlink_error("open", errno);

  std::vector<int> interfaces;
  NeighborRequest dump = make_request(RTM_GETNEIGH, NLM_F_DUMP, 1);
  Status dumped = exchange(socket_fd.get(), dump, [&](const ndmsg& entry, const rtattr* attribute, int length) {
    if (entry.ndm_state & (NUD_PERMANENT | NUD_NOARP)) return;
    for (; RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length))
      if (attribute->rta_type == NDA_DST && RTA_PAYLOAD(attribute) == sizeof(address) &&
          std::memcmp(RTA_DATA(attribute), &address, sizeof(address)) == 0)
        interfaces.push_back(entry.ndm_ifindex);
  });
  if (!dumped) return std::move(dumped.error());

  std::uint32_t sequence = 2;
  for (int interface : interfaces) {
    NeighborRequest set = make_request(RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, sequence++);
    set.body.ndm_ifindex = interface;
    set.body.ndm_state = NUD_REACHABLE;
    add_attribute(set, NDA_DST, &address, sizeof(address));
    add_attribute(set, NDA_LLADDR, mac.data(), mac.size());
    Status done = exchange(socket_fd.get(), set);
    if (!done) return std::move(done.error()).wrap("setting " + ipv4);
  }
  return static_cast<int>(interfaces.size());
}

}  // namespace dockmig::hostnet
