// The queue is bound through nfnetlink (NETLINK_NETFILTER) with metadata only: the
// packets stay in the kernel, and one batch verdict, "accept every id up to N", lets them
// all go. The rules are added and removed with iptables, which picks the host's backend.
#include "hostnet/arrival_hold.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>

#include <spdlog/spdlog.h>

#include "base/subprocess.h"

namespace dockmig::hostnet {
namespace {

constexpr char kChain[] = "DOCKMIG-HOLD";
constexpr char kRulePrefix[] = "dockmig hold ";
constexpr uint16_t kFirstQueue = 0xD0C0;  // a range other tools on a Docker host leave alone
constexpr int kQueuesTried = 64;
constexpr uint32_t kQueueLength = 4096;
constexpr int kReceiveBuffer = 4 << 20;

// One agent's holds add and remove their rules one at a time; iptables' -w keeps other
// programs' changes apart.
std::mutex rules_mutex;

Error hold_error(const std::string& what, int error_number) {
  return make_error(ErrorCode::Io, "holding arrivals: " + what + ": " + std::strerror(error_number));
}

Result<base::Exit> iptables(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"iptables", "-w", "5", "-t", "raw"});
  base::RunOptions options;
  options.timeout = std::chrono::seconds(15);
  return base::run(arguments, options);
}

Status iptables_must(std::vector<std::string> arguments) {
  std::string command = "iptables -t raw";
  for (const std::string& argument : arguments) command += " " + argument;
  Result<base::Exit> ran = iptables(std::move(arguments));
  if (!ran) return std::move(ran.error()).wrap(command);
  if (ran->code != 0)
    return make_error(ErrorCode::ToolFailed, "`" + command + "` failed: " + ran->err,
                      "dockmig needs iptables with the NFQUEUE target to hold arrivals");
  return {};
}

bool iptables_succeeds(std::vector<std::string> arguments) {
  Result<base::Exit> ran = iptables(std::move(arguments));
  return ran && ran->code == 0;
}

Status ensure_chain() {
  if (!iptables_succeeds({"-S", kChain}))
    if (Status made = iptables_must({"-N", kChain}); !made) return made;
  if (iptables_succeeds({"-C", "PREROUTING", "-j", kChain})) return {};
  return iptables_must({"-I", "PREROUTING", "-j", kChain});
}

std::vector<std::string> rule_for(const HeldPort& port, const std::string& owner, uint16_t queue) {
  std::vector<std::string> rule = {"-p", port.protocol};
  if (port.host_ip.empty()) rule.insert(rule.end(), {"-m", "addrtype", "--dst-type", "LOCAL"});
  else rule.insert(rule.end(), {"-d", port.host_ip});
  rule.insert(rule.end(), {"--dport", std::to_string(port.port), "-m", "comment", "--comment",
                           kRulePrefix + owner, "-j", "NFQUEUE", "--queue-num", std::to_string(queue),
                           "--queue-bypass"});
  return rule;
}

// An nfnetlink message to the queue subsystem, built in place.
class QueueMessage {
 public:
  QueueMessage(uint8_t kind, uint16_t queue, uint16_t flags) {
    header()->nlmsg_len = NLMSG_LENGTH(sizeof(nfgenmsg));
    header()->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | kind);
    header()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    auto* generic = static_cast<nfgenmsg*>(NLMSG_DATA(header()));
    generic->nfgen_family = AF_UNSPEC;
    generic->version = NFNETLINK_V0;
    generic->res_id = htons(queue);
  }

  template <typename T>
  void add(uint16_t type, const T& value) {
    auto* attribute = reinterpret_cast<nlattr*>(bytes_ + NLMSG_ALIGN(header()->nlmsg_len));
    attribute->nla_type = type;
    attribute->nla_len = static_cast<uint16_t>(NLA_HDRLEN + sizeof(T));
    std::memcpy(reinterpret_cast<char*>(attribute) + NLA_HDRLEN, &value, sizeof(T));
    header()->nlmsg_len = NLMSG_ALIGN(header()->nlmsg_len) + NLA_ALIGN(attribute->nla_len);
  }

  void set_sequence(uint32_t sequence) { header()->nlmsg_seq = sequence; }

  Status send(int socket_fd) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(socket_fd, bytes_, header()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
      return hold_error("send", errno);
    return {};
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(bytes_); }
  alignas(nlmsghdr) char bytes_[128] = {};
};

// The id of a queued packet's message, or 0 for any other message.
uint32_t packet_id(const nlmsghdr* message) {
  if (message->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) return 0;
  const char* end = reinterpret_cast<const char*>(message) + message->nlmsg_len;
  const char* at = static_cast<const char*>(NLMSG_DATA(message)) + NLMSG_ALIGN(sizeof(nfgenmsg));
  while (at + NLA_HDRLEN <= end) {
    const auto* attribute = reinterpret_cast<const nlattr*>(at);
    if (attribute->nla_len < NLA_HDRLEN || at + attribute->nla_len > end) return 0;
    if ((attribute->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
        attribute->nla_len >= NLA_HDRLEN + sizeof(nfqnl_msg_packet_hdr)) {
      nfqnl_msg_packet_hdr packet;
      std::memcpy(&packet, at + NLA_HDRLEN, sizeof(packet));
      return ntohl(packet.packet_id);
    }
    at += NLA_ALIGN(attribute->nla_len);
  }
  return 0;
}

// Reads what the kernel sent: packets queued (their ids to `on_packet`), and the answer
// to the request `sequence` when `until_answer`. Without it, stops when nothing is left.
Status receive(int socket_fd, bool until_answer, uint32_t sequence, const std::function<void(uint32_t)>& on_packet) {
  alignas(nlmsghdr) char buffer[65536];
  for (;;) {
    ssize_t got = ::recv(socket_fd, buffer, sizeof(buffer), until_answer ? 0 : MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR || errno == ENOBUFS) continue;  // ENOBUFS: ids lost, the later ones cover them
      if (!until_answer && (errno == EAGAIN || errno == EWOULDBLOCK)) return {};
      return hold_error("receive", errno);
    }
    int left = static_cast<int>(got);
    for (auto* message = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(message, left);
         message = NLMSG_NEXT(message, left)) {
      if (uint32_t id = packet_id(message)) on_packet(id);
      if (until_answer && message->nlmsg_type == NLMSG_ERROR && message->nlmsg_seq == sequence) {
        int error_number = -static_cast<const nlmsgerr*>(NLMSG_DATA(message))->error;
        return error_number == 0 ? Status() : Status(hold_error("the kernel refused", error_number));
      }
    }
  }
}

Status configure(int socket_fd, uint16_t queue) {
  uint32_t sequence = 0;
  auto request = [&](QueueMessage& message) -> Status {
    message.set_sequence(++sequence);
    if (Status sent = message.send(socket_fd); !sent) return sent;
    return receive(socket_fd, true, sequence, [](uint32_t) {});
  };
  QueueMessage bind(NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
  bind.add(NFQA_CFG_CMD, nfqnl_msg_config_cmd{NFQNL_CFG_CMD_BIND, 0, 0});
  if (Status bound = request(bind); !bound) return bound;
  QueueMessage params(NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
  params.add(NFQA_CFG_PARAMS, nfqnl_msg_config_params{0, NFQNL_COPY_META});
  params.add(NFQA_CFG_QUEUE_MAXLEN, htonl(kQueueLength));
  // Past kQueueLength a packet goes on unheld rather than being dropped.
  params.add(NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
  params.add(NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
  return request(params);
}

// A queue of the range that no one else holds, bound to a socket of its own.
Result<std::pair<base::UniqueFd, uint16_t>> bind_free_queue() {
  Error last = hold_error("no free queue", EBUSY);
  for (int i = 0; i < kQueuesTried; ++i) {
    base::UniqueFd socket_fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    if (!socket_fd) return hold_error("open a netfilter socket", errno);
    int size = kReceiveBuffer;
    if (::setsockopt(socket_fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
      ::setsockopt(socket_fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    uint16_t queue = static_cast<uint16_t>(kFirstQueue + i);
    Status bound = configure(socket_fd.get(), queue);
    if (bound) return std::make_pair(std::move(socket_fd), queue);
    last = std::move(bound.error());
  }
  return last;
}

}  // namespace

Result<std::unique_ptr<ArrivalHold>> ArrivalHold::start(const std::string& owner, const std::vector<HeldPort>& ports) {
  Result<std::pair<base::UniqueFd, uint16_t>> queue = bind_free_queue();
  if (!queue) return std::move(queue.error());
  std::unique_ptr<ArrivalHold> hold(new ArrivalHold(std::move(queue->first), queue->second));
  if (Status added = hold->add_rules(owner, ports); !added) return std::move(added.error());
  return hold;
}

Status ArrivalHold::add_rules(const std::string& owner, const std::vector<HeldPort>& ports) {
  std::lock_guard lock(rules_mutex);
  if (Status chain = ensure_chain(); !chain) return chain;
  for (const HeldPort& port : ports) {
    std::vector<std::string> rule = rule_for(port, owner, queue_);
    std::vector<std::string> append = {"-A", kChain};
    append.insert(append.end(), rule.begin(), rule.end());
    if (Status added = iptables_must(append); !added) return added;
    rules_.push_back(std::move(rule));
  }
  return {};
}

void ArrivalHold::accept_waiting() {
  Status read = receive(socket_.get(), false, 0, [this](uint32_t id) {
    last_id_ = id;
    ++held_;
  });
  // What was read before the error still goes on; the kernel drops the rest when the
  // queue closes, as it would have without a hold.
  if (!read) spdlog::warn("queue {}: {}", queue_, read.error().describe());
  if (last_id_ == accepted_) return;
  QueueMessage verdict(NFQNL_MSG_VERDICT_BATCH, queue_, 0);
  verdict.add(NFQA_VERDICT_HDR, nfqnl_msg_verdict_hdr{htonl(NF_ACCEPT), htonl(last_id_)});
  if (verdict.send(socket_.get())) accepted_ = last_id_;
}

uint64_t ArrivalHold::release() {
  if (!socket_) return held_;
  accept_waiting();  // what waits goes on at once
  {
    std::lock_guard lock(rules_mutex);
    for (std::vector<std::string>& rule : rules_) {
      rule.insert(rule.begin(), {"-D", kChain});
      iptables_succeeds(std::move(rule));
    }
    rules_.clear();
  }
  accept_waiting();  // and what came while the rules went
  socket_.reset();
  return held_;
}

ArrivalHold::~ArrivalHold() { release(); }

Status drop_stale_holds() {
  std::lock_guard lock(rules_mutex);
  Result<base::Exit> listed = iptables({"-S", kChain});
  if (!listed || listed->code != 0) return {};  // no chain: nothing was ever held here
  return iptables_must({"-F", kChain});
}

}  // namespace dockmig::hostnet
