// The agent wire protocol (docs/protocol.md): a hello with magic and version, then frames.
// Each frame is a 1-byte kind, a 4-byte big-endian length (at most kMaxFrame) and a payload.
// A blob is a run of Chunk frames closed by a BlobEnd frame that carries the SHA-256 of
// the chunks' bytes; the receiver verifies it before the caller may apply what it got.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "transfer/byte_stream.h"
#include "transfer/connection.h"

namespace dockmig::transfer {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr uint32_t kMaxFrame = 1u << 20;

enum class FrameKind : uint8_t { Message = 1, Chunk = 2, BlobEnd = 3, Error = 4 };

class Channel {
 public:
  /// Both ends send "DOCKMIG\n" + version and check the other's: a peer that is not a
  /// dockmig agent, or speaks another version, is an error saying which.
  static Result<std::unique_ptr<Channel>> open(Connection connection);

  /// Wire bytes (frame headers included, both directions) are counted under the current phase.
  void set_phase(const std::string& phase) { phase_ = phase; }
  uint64_t wire_bytes(const std::string& phase) const;

  Status send_message(const nlohmann::json& message);
  /// The next frame must be a Message (JSON object). An Error frame from the peer
  /// becomes an Error with the peer's code and message, prefixed "the peer: ".
  Result<nlohmann::json> receive_message();

  /// Starts blob `name` (sent as a Message {"type":"blob","name":name} first); the
  /// returned sink sends Chunk frames, and its finish() sends the BlobEnd with the digest.
  /// The sink must be finished before any other send on this channel.
  std::unique_ptr<ByteSink> send_blob(const std::string& name);
  /// Receives blob `name` into `out` (and finishes `out`); fails, naming the blob, when
  /// the next thing is not that blob, a frame is malformed, or the digest does not match.
  Status receive_blob(const std::string& name, ByteSink& out);

  /// Once a frame's first byte arrived, the rest must within this (default 120 s).
  void set_frame_deadline(std::chrono::milliseconds deadline) { frame_deadline_ = deadline; }

  /// Sends an Error frame (best effort) and closes the connection.
  void send_error_and_close(const Error& error);
  void close() { connection_.close(); }
  const std::string& peer() const { return connection_.peer(); }
  /// Whether the connection runs TLS (Connection::start_tls before open).
  bool secure() const { return connection_.secure(); }

 private:
  explicit Channel(Connection connection) : connection_(std::move(connection)) {}
  Status write_frame(FrameKind kind, std::span<const std::byte> payload);
  struct Frame {
    FrameKind kind;
    std::vector<std::byte> payload;
  };
  Result<Frame> read_frame();
  class BlobSink;

  Connection connection_;
  std::chrono::milliseconds frame_deadline_{120'000};
  std::string phase_ = "hello";
  std::map<std::string, uint64_t> wire_bytes_;
};

/// Decodes one frame header; exposed for the fuzzer and tests. Errors on an unknown kind
/// or a length above kMaxFrame.
struct FrameHeader {
  FrameKind kind;
  uint32_t length;
};
Result<FrameHeader> decode_frame_header(std::span<const std::byte, 5> bytes);

}  // namespace dockmig::transfer
