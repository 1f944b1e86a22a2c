// A destination session fed from memory, shared by the unit tests and the destination
// fuzzer: what a source would send (frames written without their checksums, sealed on
// the way: unit/transfer/frame_sealing.h; after a valid hello) goes in through a
// socketpair, the destination's code runs on a real Session on the other end, and what it
// answered comes back. No gtest here, so the fuzzer can use it.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/session.h"
#include "transfer/channel.h"
#include "transfer/connection.h"
#include "unit/transfer/frame_sealing.h"

namespace dockmig::migrate::testing {

using Bytes = std::vector<std::byte>;

/// One frame without its checksum (serve_from_peer seals it).
inline void append_frame(Bytes& wire, transfer::FrameKind kind, std::span<const std::byte> payload) {
  auto length = static_cast<uint32_t>(payload.size());
  Bytes header = {std::byte(kind), std::byte(length >> 24), std::byte(length >> 16), std::byte(length >> 8),
                  std::byte(length)};
  wire.insert(wire.end(), header.begin(), header.end());
  wire.insert(wire.end(), payload.begin(), payload.end());
}

/// One Message frame carrying `text` as it is (which need not be valid JSON).
inline void append_message(Bytes& wire, std::string_view text) {
  append_frame(wire, transfer::FrameKind::Message, std::as_bytes(std::span(text)));
}

struct ReplyFrame {
  transfer::FrameKind kind;
  std::string payload;
};

/// The frames of a destination's reply, as far as they are whole.
inline std::vector<ReplyFrame> frames_of(const Bytes& reply) {
  constexpr size_t kHeader = transfer::kFrameHeaderSize;
  std::vector<ReplyFrame> frames;
  for (size_t at = 0; at + kHeader <= reply.size();) {
    uint32_t length = (uint32_t(reply[at + 1]) << 24) | (uint32_t(reply[at + 2]) << 16) |
                      (uint32_t(reply[at + 3]) << 8) | uint32_t(reply[at + 4]);
    if (at + kHeader + length > reply.size()) break;
    const char* payload = reinterpret_cast<const char*>(reply.data() + at + kHeader);
    frames.push_back({transfer::FrameKind(reply[at]), std::string(payload, length)});
    at += kHeader + length;
  }
  return frames;
}

struct Served {
  Status status;
  Bytes reply;  // everything the destination wrote after its hello
};

/// Runs `serve` on the destination end of a fresh link whose source end sends a valid
/// hello, then `wire` with its frames sealed, then nothing more.
inline Served serve_from_peer(std::span<const std::byte> wire, const std::function<Status(Session&)>& serve) {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    return {make_error(ErrorCode::Io, "socketpair failed"), {}};
  Bytes reply;
  std::thread source([&, fd = ends[1]] {
    std::array<std::byte, transfer::kHelloSize> hello = transfer::encode_hello(transfer::kSpokenVersions);
    Bytes sent(hello.begin(), hello.end());
    Bytes sealed = transfer::testing::seal_frames(wire);
    sent.insert(sent.end(), sealed.begin(), sealed.end());
    for (size_t written = 0; written < sent.size();) {
      ssize_t n = ::send(fd, sent.data() + written, sent.size() - written, MSG_NOSIGNAL);
      if (n <= 0) break;  // the destination gave up and closed its end
      written += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    std::byte buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.insert(reply.end(), buffer, buffer + n);
  });
  Served served;
  {
    Result<Session> session = Session::accept(transfer::Connection::adopt(ends[0], "fuzz-source"));
    served.status = session ? serve(*session) : Status(std::move(session.error()));
  }  // closing the destination's end lets the source's read end
  source.join();
  ::close(ends[1]);
  if (reply.size() >= transfer::kHelloSize) reply.erase(reply.begin(), reply.begin() + transfer::kHelloSize);
  served.reply = std::move(reply);
  return served;
}

/// A unix socket that is bound but never listens: an EngineClient opened on it fails
/// every call at once with "connection refused", like a host whose dockerd is down.
class RefusingDockerSocket {
 public:
  explicit RefusingDockerSocket(std::filesystem::path path) : path_(std::move(path)) {
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) std::perror("bind");
  }
  ~RefusingDockerSocket() {
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  RefusingDockerSocket(const RefusingDockerSocket&) = delete;
  RefusingDockerSocket& operator=(const RefusingDockerSocket&) = delete;
  std::string address() const { return "unix://" + path_.string(); }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace dockmig::migrate::testing
