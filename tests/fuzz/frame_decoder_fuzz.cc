// libFuzzer: the agent protocol as an agent meets it from any peer. The input is what the
// peer sends, through a socketpair into a real Channel: after a valid hello, its frames
// sealed with their checksums (unit/transfer/frame_sealing.h; mode 0: messages, mode 1: a
// blob), or raw with its own hello and checksums (mode 2). Also each input's first
// kFrameHeaderSize bytes through decode_frame_header alone. Nothing may crash, hang or
// allocate beyond one frame (kMaxFrame); every refusal must be an Error.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "transfer/byte_stream.h"
#include "transfer/channel.h"
#include "transfer/connection.h"
#include "unit/transfer/frame_sealing.h"

namespace {

using namespace dockmig;
using namespace dockmig::transfer;

constexpr size_t kMaxInput = 32 * 1024;  // fits in a socketpair's buffer: no writer thread

class DiscardSink : public ByteSink {
 public:
  Status write(std::span<const std::byte>) override { return {}; }
  Status finish() override { return {}; }
};

void check_header(const uint8_t* data) {
  std::array<std::byte, kFrameHeaderSize> bytes;
  std::memcpy(bytes.data(), data, bytes.size());
  Result<FrameHeader> header = decode_frame_header(bytes);
  if (header && header->length > kMaxFrame) std::abort();
  if (!header && header.error().message.empty()) std::abort();
}

void run_channel(int mode, const uint8_t* data, size_t size) {
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return;
  std::vector<std::byte> wire;
  std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  if (mode != 2) {
    std::array<std::byte, kHelloSize> hello = encode_hello(kSpokenVersions);
    wire.assign(hello.begin(), hello.end());
    std::vector<std::byte> sealed = testing::seal_frames(input);
    wire.insert(wire.end(), sealed.begin(), sealed.end());
  } else {
    wire.assign(input.begin(), input.end());
  }
  size_t written = 0;
  while (written < wire.size()) {
    ssize_t n = ::write(ends[1], wire.data() + written, wire.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  shutdown(ends[1], SHUT_WR);  // the peer has said all it will say
  Result<std::unique_ptr<Channel>> channel = Channel::open(Connection::adopt(ends[0], "fuzz"));
  if (channel) {
    if (mode == 1) {
      DiscardSink sink;
      (*channel)->receive_blob("upper", sink).ignore("any outcome is fine; only a crash is not");
    } else {
      for (int i = 0; i < 64; ++i)
        if (!(*channel)->receive_message()) break;
    }
  }
  close(ends[1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kMaxInput) return 0;
  if (size >= 1 + kFrameHeaderSize) check_header(data + 1);
  run_channel(data[0] % 3, data + 1, size - 1);
  return 0;
}
