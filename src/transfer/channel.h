// The agent wire protocol (docs/protocol.md): a hello with magic and the versions each side
// speaks, then frames (transfer/frame_format.h), each checked against its checksum before
// anything acts on it. A blob is a run of Chunk frames closed by a BlobEnd frame that
// carries the SHA-256 of the chunks' bytes; the receiver verifies it before the caller may
// apply what it got.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "transfer/byte_stream.h"
#include "transfer/connection.h"
#include "transfer/frame_format.h"
#include "transfer/resend_log.h"

namespace dockmig::transfer {

/// A resumable channel's way to a new link once the old one broke: a connection that
/// said hello and asked the peer to resume this conversation (docs/protocol.md).
/// `reset`: the peer's host answered the old link with a reset (Connection::link_reset).
using Reattach = std::function<Result<Connection>(bool reset)>;

/// How often a resumable channel's link broke and came back, and what crossed again.
struct ResumeStats {
  int resumes = 0;
  uint64_t resent_frames = 0;
  uint64_t resent_bytes = 0;
};

class Channel {
 public:
  /// Both ends send "DOCKMIG\n" + the versions they speak and take the highest common one:
  /// a peer that is not a dockmig agent, or shares no version, is an error saying which.
  /// The peer's hello must have arrived by `hello_by`, however it spaces its bytes.
  static Result<std::unique_ptr<Channel>> open(Connection connection, std::chrono::steady_clock::time_point hello_by);
  /// open() with the hello due within kHelloTimeout.
  static Result<std::unique_ptr<Channel>> open(Connection connection);
  /// How long a peer has for its whole hello when the caller set no deadline of its own.
  static constexpr std::chrono::seconds kHelloTimeout{15};
  /// The protocol version both ends agreed on.
  uint16_t version() const { return version_; }

  /// Wire bytes (frame headers included, both directions) are counted under the current phase.
  void set_phase(const std::string& phase) { phase_ = phase; }
  uint64_t wire_bytes(const std::string& phase) const;
  /// What the current connection has sent that the peer's host has not acknowledged yet.
  uint64_t unacknowledged_bytes() const { return connection_.unacknowledged_bytes(); }

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

  /// From now on frames are numbered and kept until acknowledged, and a link that is
  /// lost (not closed by the peer) is replaced through `reattach`, the unacknowledged
  /// frames sent again, instead of failing. Both sides call it at the same point of
  /// their conversation. The link is watched for silence from here (kLinkSilence).
  void enable_resume(Reattach reattach);
  bool resumable() const { return resend_.has_value(); }
  bool closed() const { return closed_; }
  const ResumeStats& resume_stats() const { return resume_stats_; }
  /// Breaks the current link as a lost one, safe from another thread: used when the peer
  /// came back on a new link before this side noticed the old one was gone.
  void supersede_link();
  /// Gives the connection away (to the channel it resumes); this channel is done.
  Connection release_connection();

  /// Sends an Error frame (best effort) and closes the connection.
  void send_error_and_close(const Error& error);
  /// Closes the connection; from another thread too. A closed channel never resumes.
  void close();
  const std::string& peer() const { return connection_.peer(); }
  /// Whether the connection runs TLS (Connection::start_tls before open).
  bool secure() const { return connection_.secure(); }
  /// The common name of the peer's certificate, "" without TLS.
  std::string peer_identity() const { return connection_.peer_identity(); }

  /// Silence on a resumable link for this long counts as a lost link.
  static constexpr std::chrono::seconds kLinkSilence{10};
  /// A resumable sender waits for acknowledgements beyond this many kept bytes.
  static constexpr uint64_t kResendWindow = 8u << 20;

 private:
  explicit Channel(Connection connection) : connection_(std::move(connection)) {}
  Status write_frame(FrameKind kind, std::span<const std::byte> payload);
  Status write_raw(FrameKind kind, std::span<const std::byte> payload);
  Status write_wire(std::span<const std::byte, kFrameHeaderSize> header, std::span<const std::byte> payload);
  Status write_message_frame(std::span<const std::byte> payload);
  struct Frame {
    FrameKind kind;
    std::vector<std::byte> payload;
  };
  Result<Frame> read_frame();
  Result<VersionRange> read_hello(std::chrono::steady_clock::time_point deadline);
  Result<Frame> read_raw_frame();
  Error refuse_damaged(FrameKind kind);
  // The resumable link's own steps (resend_ set).
  Status note_received();
  Status take_ack(const Frame& frame);
  Status await_window();
  Status resume_after(Error cause);
  Status exchange_counts();
  bool lost() const { return !closed_ && (superseded_ || damaged_ || connection_.link_lost()); }
  class BlobSink;

  Connection connection_;
  std::mutex link_mutex_;  // connection_ is replaced on one thread while another may close it
  std::atomic<bool> closed_{false};
  std::atomic<bool> superseded_{false};
  bool damaged_ = false;  // a frame failed its checksum: this link is reset and resumed
  uint16_t version_ = 0;
  std::optional<ResendLog> resend_;
  Reattach reattach_;
  std::deque<Frame> pending_;  // read while waiting for an acknowledgement
  ResumeStats resume_stats_;
  std::chrono::milliseconds frame_deadline_{120'000};
  std::string phase_ = "hello";
  std::map<std::string, uint64_t> wire_bytes_;
#if DOCKMIG_FAULT_POINTS
  std::map<std::string, uint64_t> messages_sent_;  // by phase, for the fault point
#endif
};

}  // namespace dockmig::transfer
