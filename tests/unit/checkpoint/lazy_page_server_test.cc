#include "checkpoint/lazy_page_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "checkpoint/lazy_pages.h"

namespace dockmig::checkpoint {
namespace {

using namespace std::chrono_literals;

// CRIU's side of the protocol, written from criu/page-xfer.c rather than from the server.
struct PageServerIov {
  uint32_t cmd;
  uint64_t nr_pages;
  uint64_t vaddr;
  uint64_t dst_id;
};
constexpr uint32_t kGet = 7;
constexpr uint32_t kOpen = 3;
constexpr uint32_t kClose = 0x1023;
constexpr uint32_t kForceClose = 0x1024;
constexpr uint32_t kAddPresent = (4u << 16) | 6u;
constexpr size_t kPage = 4096;

std::byte page_byte(uint64_t task, uint64_t vaddr, size_t offset) {
  return static_cast<std::byte>((task * 31 + (vaddr + offset) / kPage) % 251);
}

Result<uint64_t> fill_pages(uint64_t task, uint64_t vaddr, uint64_t pages, std::span<std::byte> out) {
  if (out.size() != pages * kPage) return make_error(ErrorCode::Internal, "wrong buffer size");
  for (size_t i = 0; i < out.size(); ++i) out[i] = page_byte(task, vaddr, i);
  return pages;
}

// The lazy-pages daemon's end: a copy of daemon_end(), whose original the server closes.
class CriuSide {
 public:
  explicit CriuSide(LazyPageServer& server) : fd_(::dup(server.daemon_end())) { server.close_daemon_end(); }

  void send(uint32_t cmd, uint64_t nr_pages = 0, uint64_t vaddr = 0, uint64_t dst_id = 0) {
    PageServerIov request{};
    request.cmd = cmd;
    request.nr_pages = nr_pages;
    request.vaddr = vaddr;
    request.dst_id = dst_id;
    send_bytes(&request, sizeof request);
  }
  void send_bytes(const void* bytes, size_t size) {
    ASSERT_EQ(::send(fd_.get(), bytes, size, MSG_NOSIGNAL), static_cast<ssize_t>(size));
  }
  PageServerIov receive_header() {
    PageServerIov reply{};
    receive(&reply, sizeof reply);
    return reply;
  }
  std::vector<std::byte> receive_pages(uint64_t pages) {
    std::vector<std::byte> bytes(pages * kPage);
    receive(bytes.data(), bytes.size());
    return bytes;
  }
  int32_t receive_status() {
    int32_t status = -1;
    receive(&status, sizeof status);
    return status;
  }
  /// Whether nothing, neither data nor a hangup, arrives within `wait`.
  bool quiet_for(std::chrono::milliseconds wait) {
    pollfd ready{fd_.get(), POLLIN | POLLRDHUP, 0};
    return ::poll(&ready, 1, static_cast<int>(wait.count())) == 0;
  }
  void close() { fd_.reset(); }

 private:
  void receive(void* bytes, size_t size) {
    ssize_t got = ::recv(fd_.get(), bytes, size, MSG_WAITALL);
    ASSERT_EQ(got, static_cast<ssize_t>(size)) << std::strerror(errno);
  }

  base::UniqueFd fd_;
};

std::unique_ptr<LazyPageServer> start_server(LazyPageServer::PageReader reader = fill_pages) {
  Result<std::unique_ptr<LazyPageServer>> server = LazyPageServer::start(std::move(reader));
  EXPECT_TRUE(server) << server.error().describe();
  return server ? std::move(*server) : nullptr;
}

std::string failure_within(const LazyPageServer& server, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (server.failure().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return server.failure();
}

void expect_answer(CriuSide& criu, uint64_t task, uint64_t vaddr, uint64_t pages) {
  PageServerIov reply = criu.receive_header();
  EXPECT_EQ(reply.cmd, kAddPresent);
  EXPECT_EQ(reply.nr_pages, pages);
  EXPECT_EQ(reply.vaddr, vaddr);
  EXPECT_EQ(reply.dst_id, task);
  std::vector<std::byte> bytes = criu.receive_pages(pages);
  for (size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] != page_byte(task, vaddr, i)) return ADD_FAILURE() << "byte " << i << " of task " << task;
}

TEST(LazyPageServer, AnswersPipelinedRequestsInOrder) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(kGet, 1, 0x7f0000001000, 7);
  criu.send(kGet, 1024, 0x7f0000400000, 9);
  criu.send(kGet, 2, 0x5000, 7);
  expect_answer(criu, 7, 0x7f0000001000, 1);
  expect_answer(criu, 9, 0x7f0000400000, 1024);
  expect_answer(criu, 7, 0x5000, 2);
  criu.send(kForceClose);
  EXPECT_EQ(criu.receive_status(), 0);
  EXPECT_EQ(server->requests_served(), 3u);
  EXPECT_EQ(server->pages_served(), 1027u);
  EXPECT_EQ(server->failure(), "");
}

TEST(LazyPageServer, AnswersWithFewerPagesWhenTheReaderGivesFewer) {
  std::unique_ptr<LazyPageServer> server = start_server(
      [](uint64_t task, uint64_t vaddr, uint64_t pages, std::span<std::byte> out) -> Result<uint64_t> {
        Result<uint64_t> filled = fill_pages(task, vaddr, pages, out);
        return filled ? std::min<uint64_t>(*filled, 3) : filled;
      });
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(kGet, 64, 0x7f0000001000, 7);
  criu.send(kGet, 1, 0x5000, 7);
  expect_answer(criu, 7, 0x7f0000001000, 3);  // the daemon asks again for the other 61
  expect_answer(criu, 7, 0x5000, 1);
  EXPECT_EQ(server->pages_served(), 4u);
}

TEST(LazyPageServer, AnswersCloseWithStatusZero) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(kClose);
  EXPECT_EQ(criu.receive_status(), 0);
  EXPECT_EQ(server->failure(), "");
}

TEST(LazyPageServer, AReaderFailureLeavesTheSocketOpenAndSilent) {
  std::unique_ptr<LazyPageServer> server = start_server([](uint64_t task, uint64_t, uint64_t pages, std::span<std::byte>) {
    return task == 13 ? Result<uint64_t>(make_error(ErrorCode::Network, "the link to the source is lost"))
                      : Result<uint64_t>(pages);
  });
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(kGet, 1, 0x1000, 12);
  criu.receive_header();
  criu.receive_pages(1);
  criu.send(kGet, 4, 0x2000, 13);
  std::string failure = failure_within(*server, 5s);
  EXPECT_NE(failure.find("the link to the source is lost"), std::string::npos) << failure;
  EXPECT_NE(failure.find("task 13"), std::string::npos) << failure;
  criu.send(kGet, 1, 0x1000, 12);
  EXPECT_TRUE(criu.quiet_for(200ms));
}

// Sends `request`, after which the server must name `failure` and answer nothing more.
void expect_protocol_error(const PageServerIov& request, const std::string& failure) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(request.cmd, request.nr_pages, request.vaddr, request.dst_id);
  EXPECT_NE(failure_within(*server, 5s).find(failure), std::string::npos) << server->failure();
  criu.send(kGet, 1, 0x1000, 1);
  EXPECT_TRUE(criu.quiet_for(200ms));
  EXPECT_EQ(server->requests_served(), 0u);
}

TEST(LazyPageServer, AnUnknownCommandStopsServing) {
  expect_protocol_error({kOpen, 0, 0, 1}, "unknown command 3");
}

TEST(LazyPageServer, AnOversizedRequestStopsServing) {
  expect_protocol_error({kGet, LazyPageServer::kMaxRequestPages + 1, 0x1000, 1}, "4097 pages");
}

TEST(LazyPageServer, AnUnalignedRequestStopsServing) {
  expect_protocol_error({kGet, 1, 0x1001, 1}, "unaligned");
}

TEST(LazyPageServer, ADaemonThatHangsUpIsNoFailure) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(kGet, 1, 0x1000, 1);
  criu.close();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server->failure(), "");
}

void expect_prompt_destruction(std::unique_ptr<LazyPageServer> server) {
  auto started = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(LazyPageServer, IsDestroyedPromptlyWhileWaitingForARequest) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send_bytes("\x07\0\0\0", 4);  // half a header
  std::this_thread::sleep_for(50ms);
  expect_prompt_destruction(std::move(server));
}

TEST(LazyPageServer, IsDestroyedPromptlyWhileAnAnswerIsNotRead) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  CriuSide criu(*server);
  criu.send(kGet, LazyPageServer::kMaxRequestPages, 0x1000, 1);  // 16 MiB, more than the socket holds
  std::this_thread::sleep_for(100ms);
  expect_prompt_destruction(std::move(server));
}

// A stand-in for `criu lazy-pages --daemon`: it checks that the page server's socket came
// through, then leaves a sleeping "daemon" in the pidfile.
constexpr const char* kFakeCriu = R"(#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    --pidfile) pidfile=$2; shift ;;
    --ps-socket) socket=$2; shift ;;
  esac
  shift
done
if [ -n "$socket" ] && [ ! -S /proc/self/fd/$socket ]; then echo "no socket on fd $socket" >&2; exit 1; fi
# The server's own end is held too, so that the agent's death is no hangup.
sockets=$(ls -l /proc/$$/fd | grep -c socket:)
if [ -n "$socket" ] && [ "$sockets" -lt 2 ]; then echo "the server's end is not held" >&2; exit 1; fi
sleep 30 </dev/null >/dev/null 2>&1 &
echo $! > "$pidfile"
)";

class RemoteLazyPagesDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dockmig-lazy-server-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "criu") << kFakeCriu;
    std::filesystem::permissions(dir_ / "criu", std::filesystem::perms::owner_all);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<LazyPagesDaemon> start(int page_server_fd, int held_fd) {
    return LazyPagesDaemon::start_remote((dir_ / "criu").string(), dir_ / "images", dir_ / "work", page_server_fd,
                                         held_fd);
  }

  std::filesystem::path dir_;
};

TEST_F(RemoteLazyPagesDaemon, GetsThePageServersSocket) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  Result<LazyPagesDaemon> daemon = start(server->daemon_end(), server->own_end());
  ASSERT_TRUE(daemon) << daemon.error().describe();
  EXPECT_NE(::fcntl(server->daemon_end(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(RemoteLazyPagesDaemon, AWaitAbandonedEndsSoon) {
  std::unique_ptr<LazyPageServer> server = start_server();
  ASSERT_TRUE(server);
  Result<LazyPagesDaemon> daemon = start(server->daemon_end(), server->own_end());
  ASSERT_TRUE(daemon) << daemon.error().describe();
  auto started = std::chrono::steady_clock::now();
  Result<LazyFill> filled = daemon->wait_filled(30s, [] { return std::string("the page reader failed"); });
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_FALSE(filled);
  EXPECT_EQ(filled.error().code, ErrorCode::Interrupted);
  EXPECT_NE(filled.error().message.find("the page reader failed"), std::string::npos) << filled.error().message;
}

TEST_F(RemoteLazyPagesDaemon, AWaitNotAbandonedStillTimesOut) {
  Result<LazyPagesDaemon> daemon = LazyPagesDaemon::start((dir_ / "criu").string(), dir_ / "images", dir_ / "work");
  ASSERT_TRUE(daemon) << daemon.error().describe();
  Result<LazyFill> filled = daemon->wait_filled(300ms, [] { return std::string(); });
  ASSERT_FALSE(filled);
  EXPECT_EQ(filled.error().code, ErrorCode::Timeout);
}

TEST_F(RemoteLazyPagesDaemon, ASocketThatIsNotOpenFailsTheStart) {
  base::UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int closed = ::fcntl(null.get(), F_DUPFD_CLOEXEC, 500);  // high: the run's own pipes do not take it
  ::close(closed);
  Result<LazyPagesDaemon> daemon = start(closed, closed);
  ASSERT_FALSE(daemon);
  EXPECT_NE(daemon.error().message.find("cannot pass fd"), std::string::npos) << daemon.error().message;
}

}  // namespace
}  // namespace dockmig::checkpoint
