// The agent wire protocol: hello, then checksummed frames (see channel.h). Blobs stream
// through in 256 KiB Chunk frames, hashed on both ends as they pass, so neither side ever
// holds a whole blob; the receiver only reports success after the SHA-256 in BlobEnd matches.
#include "transfer/channel.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "base/json_fields.h"
#include "faults/fault_points.h"

namespace dockmig::transfer {
namespace {

constexpr size_t kChunkSize = 256 * 1024;
constexpr size_t kDigestSize = 32;
// Payloads up to this size are sent in one write with their header (one TCP segment).
constexpr size_t kCoalesceLimit = 64 * 1024;

static_assert(kChunkSize <= kMaxFrame);

constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::InvalidInput, ErrorCode::NotFound, ErrorCode::Unsupported, ErrorCode::ToolFailed,
    ErrorCode::Io,           ErrorCode::Network,  ErrorCode::Conflict,    ErrorCode::Timeout,
    ErrorCode::Interrupted,  ErrorCode::Internal,
};

ErrorCode error_code_named(std::string_view name) {
  for (ErrorCode code : kAllErrorCodes) {
    if (to_string(code) == name) return code;
  }
  return ErrorCode::Internal;
}

std::span<const std::byte> as_bytes(std::string_view text) { return std::as_bytes(std::span(text)); }

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string dump(const nlohmann::json& message) {
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// The peer's Error frame as our Error, prefixed "the peer: ".
Error peer_error(std::span<const std::byte> payload) {
  nlohmann::json body = nlohmann::json::parse(as_text(payload), nullptr, false);
  if (!body.is_object()) return make_error(ErrorCode::Internal, "the peer: failed (its error report was unreadable)");
  Error error = make_error(error_code_named(string_field(body, "code")),
                           "the peer: " + string_field(body, "message", "failed"), string_field(body, "hint"));
  error.detail = string_field(body, "detail");
  return error;
}

struct EvpFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, EvpFree>;

DigestContext new_sha256() {
  DigestContext context(EVP_MD_CTX_new());
  if (context && EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) context.reset();
  return context;
}

std::array<std::byte, kDigestSize> final_digest(EVP_MD_CTX* context) {
  std::array<std::byte, kDigestSize> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, reinterpret_cast<unsigned char*>(digest.data()), &length);
  return digest;
}

Error hello_late(const std::string& peer) {
  return make_error(ErrorCode::Timeout, "`" + peer + "` did not finish its hello in time",
                    "is `" + peer + "` a dockmig agent?");
}

}  // namespace

Result<std::unique_ptr<Channel>> Channel::open(Connection connection) {
  return open(std::move(connection), std::chrono::steady_clock::now() + kHelloTimeout);
}

// Something that is not an agent may just stay silent, or trickle bytes: the hello has a
// deadline of its own, not the link's read timeout.
Result<std::unique_ptr<Channel>> Channel::open(Connection connection, std::chrono::steady_clock::time_point hello_by) {
  std::unique_ptr<Channel> channel(new Channel(std::move(connection)));
  std::array<std::byte, kHelloSize> hello = encode_hello(kSpokenVersions);
  if (Status sent = channel->connection_.write_all(hello); !sent) return std::move(sent.error());
  channel->wire_bytes_[channel->phase_] += kHelloSize;

  Result<VersionRange> theirs = channel->read_hello(hello_by);
  if (!theirs) return std::move(theirs.error());
  Result<uint16_t> version = negotiate_version(kSpokenVersions, *theirs, channel->peer());
  if (!version) return std::move(version.error());
  channel->version_ = *version;
  return channel;
}

// A version-1 peer sends only the magic and its version; from version 2 on the lowest follows.
Result<VersionRange> Channel::read_hello(std::chrono::steady_clock::time_point deadline) {
  std::array<std::byte, kLegacyHelloSize> first{};
  if (Status answered = connection_.read_exact_by(first, deadline); !answered) {
    if (answered.error().code == ErrorCode::Timeout) return hello_late(peer());
    if (!answered.error().hint.empty()) return std::move(answered.error());  // e.g. TLS said why
    return std::move(answered.error()).with_hint("is `" + peer() + "` a dockmig agent?");
  }
  wire_bytes_[phase_] += first.size();
  if (!hello_magic_matches(first)) {
    return make_error(ErrorCode::InvalidInput, "`" + peer() + "` is not a dockmig agent (it answered something else)",
                      "check the address and port: they must be those of a dockmig agent");
  }
  uint16_t max = hello_max_version(first);
  std::optional<std::span<const std::byte, 2>> min_bytes;
  std::array<std::byte, 2> min{};
  if (max >= 2) {
    if (Status answered = connection_.read_exact_by(min, deadline); !answered) {
      if (answered.error().code == ErrorCode::Timeout) return hello_late(peer());
      return std::move(answered.error());
    }
    wire_bytes_[phase_] += min.size();
    min_bytes = min;
  }
  Result<VersionRange> range = hello_range(max, min_bytes);
  if (!range) return std::move(range.error()).wrap("`" + peer() + "` sent a malformed hello");
  return range;
}

uint64_t Channel::wire_bytes(const std::string& phase) const {
  auto found = wire_bytes_.find(phase);
  return found == wire_bytes_.end() ? 0 : found->second;
}

// Numbered frames are kept before they are written, so that a link lost in the middle of
// one sends it again whole once resumed.
Status Channel::write_frame(FrameKind kind, std::span<const std::byte> payload) {
  bool numbered = resend_ && kind != FrameKind::Error && kind != FrameKind::Ack;
  if (numbered && payload.size() <= kMaxFrame) resend_->keep(static_cast<uint8_t>(kind), payload);
  Status sent = kind == FrameKind::Message ? write_message_frame(payload) : write_raw(kind, payload);
  if (!sent && numbered) sent = resume_after(std::move(sent.error()));
  if (sent && numbered) sent = await_window();
  return sent;
}

// In a test build the first message of a transfer phase passes a fault point that may
// damage it on the link after its checksum was taken; the copy kept for a resume is sound.
Status Channel::write_message_frame(std::span<const std::byte> payload) {
#if DOCKMIG_FAULT_POINTS
  if (payload.size() <= kMaxFrame && (phase_ == "presync" || phase_ == "finalsync") && messages_sent_[phase_]++ == 0) {
    std::array<std::byte, kFrameHeaderSize> header = encode_frame_header(FrameKind::Message, payload);
    std::vector<std::byte> damaged(payload.begin(), payload.end());
    DOCKMIG_FAULT_POINT("transfer." + phase_ + "-first-message-sending", [this] { close(); }, damaged);
    return write_wire(header, damaged);
  }
#endif
  return write_raw(FrameKind::Message, payload);
}

Status Channel::write_raw(FrameKind kind, std::span<const std::byte> payload) {
  if (payload.size() > kMaxFrame) {
    return make_error(ErrorCode::Internal, std::string("a ") + kind_name(kind) + " frame of " +
                                               std::to_string(payload.size()) + " bytes is above the protocol limit");
  }
  return write_wire(encode_frame_header(kind, payload), payload);
}

Status Channel::write_wire(std::span<const std::byte, kFrameHeaderSize> header, std::span<const std::byte> payload) {
  Status sent;
  if (payload.size() <= kCoalesceLimit) {
    std::vector<std::byte> frame(header.begin(), header.end());
    frame.insert(frame.end(), payload.begin(), payload.end());
    sent = connection_.write_all(frame);
  } else {
    sent = connection_.write_all(header);
    if (sent) sent = connection_.write_all(payload);
  }
  if (!sent) return sent;
  wire_bytes_[phase_] += kFrameHeaderSize + payload.size();
  return {};
}

// On a resumable link acknowledgements are taken in passing, and a lost link is replaced
// before the read goes on: the peer sends again every frame not received whole.
Result<Channel::Frame> Channel::read_frame() {
  if (!pending_.empty()) {
    Frame frame = std::move(pending_.front());
    pending_.pop_front();
    return frame;
  }
  while (true) {
    Result<Frame> frame = read_raw_frame();
    if (!resend_) return frame;
    if (!frame) {
      if (Status back = resume_after(std::move(frame.error())); !back) return std::move(back.error());
      continue;
    }
    if (frame->kind == FrameKind::Ack) {
      if (Status taken = take_ack(*frame); !taken) return std::move(taken.error());
      continue;
    }
    if (frame->kind != FrameKind::Error) note_received().ignore("a lost link shows at the next read or write");
    return frame;
  }
}

Result<Channel::Frame> Channel::read_raw_frame() {
  std::array<std::byte, kFrameHeaderSize> header_bytes{};
  // A frame may be long in coming (the peer restores, pulls), but once begun it must end
  // by the deadline: a peer that trickles bytes cannot hold a session for ever.
  if (Status got = connection_.read_exact(std::span(header_bytes).first(1)); !got) return std::move(got.error());
  auto deadline = std::chrono::steady_clock::now() + frame_deadline_;
  if (Status got = connection_.read_exact_by(std::span(header_bytes).subspan(1), deadline); !got)
    return std::move(got.error());
  Result<FrameHeader> header = decode_frame_header(header_bytes);
  if (!header) return std::move(header.error()).wrap("`" + peer() + "` sent a malformed frame");
  Frame frame{header->kind, std::vector<std::byte>(header->length)};
  if (Status got = connection_.read_exact_by(frame.payload, deadline); !got) return std::move(got.error());
  wire_bytes_[phase_] += kFrameHeaderSize + header->length;
  if (!frame_intact(*header, frame.payload)) return refuse_damaged(header->kind);
  return frame;
}

// Nothing of a damaged frame is acted on. A resumable link is reset, so that both ends
// find it lost and resume, and the peer sends the frame again from what it kept.
Error Channel::refuse_damaged(FrameKind kind) {
  spdlog::warn("a {} frame from {} failed its checksum", kind_name(kind), peer());
  if (resend_) {
    std::lock_guard<std::mutex> lock(link_mutex_);
    damaged_ = true;
    connection_.reset();
  }
  return make_error(ErrorCode::Network,
                    "`" + peer() + "` sent a " + kind_name(kind) + " frame that failed its checksum: the link damaged it",
                    "retry the migration; if it happens again, check the network path between the hosts");
}

Status Channel::send_message(const nlohmann::json& message) {
  return write_frame(FrameKind::Message, as_bytes(dump(message)));
}

Result<nlohmann::json> Channel::receive_message() {
  Result<Frame> frame = read_frame();
  if (!frame) return std::move(frame.error());
  if (frame->kind == FrameKind::Error) return peer_error(frame->payload);
  if (frame->kind != FrameKind::Message) {
    return make_error(ErrorCode::InvalidInput,
                      "`" + peer() + "` sent a " + kind_name(frame->kind) + " frame where a message was expected");
  }
  nlohmann::json message = nlohmann::json::parse(as_text(frame->payload), nullptr, false);
  if (!message.is_object()) {
    return make_error(ErrorCode::InvalidInput, "`" + peer() + "` sent a message that is not a JSON object");
  }
  return message;
}

/// Buffers written bytes into Chunk frames of kChunkSize and hashes them as they pass.
class Channel::BlobSink : public ByteSink {
 public:
  BlobSink(Channel& channel, std::string name, Status started)
      : channel_(channel), name_(std::move(name)), status_(std::move(started)), digest_(new_sha256()) {
    if (status_ && !digest_) status_ = make_error(ErrorCode::Internal, "cannot set up SHA-256 (OpenSSL)");
    if (status_) buffer_.reserve(kChunkSize);
  }

  Status write(std::span<const std::byte> data) override {
    if (finished_) return make_error(ErrorCode::Internal, "blob `" + name_ + "`: write after finish");
    if (!status_) return status_;
    EVP_DigestUpdate(digest_.get(), data.data(), data.size());
    while (!data.empty() && status_) {
      if (buffer_.empty() && data.size() >= kChunkSize) {
        status_ = send_chunk(data.first(kChunkSize));
        data = data.subspan(kChunkSize);
        continue;
      }
      size_t taken = std::min(kChunkSize - buffer_.size(), data.size());
      buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(taken));
      data = data.subspan(taken);
      if (buffer_.size() == kChunkSize) status_ = flush();
    }
    return status_;
  }

  Status finish() override {
    if (finished_) return make_error(ErrorCode::Internal, "blob `" + name_ + "`: finished twice");
    finished_ = true;
    if (status_ && !buffer_.empty()) status_ = flush();
    if (!status_) return status_;
    std::array<std::byte, kDigestSize> digest = final_digest(digest_.get());
    Status sent = channel_.write_frame(FrameKind::BlobEnd, digest);
    if (!sent) status_ = std::move(sent.error()).wrap("sending blob `" + name_ + "`");
    return status_;
  }

 private:
  Status send_chunk(std::span<const std::byte> chunk) {
#if DOCKMIG_FAULT_POINTS
    // A copy, so that a `corrupt` action damages the frame on the link, not the sent data.
    std::vector<std::byte> damaged;
    if (chunks_sent_ == 0 && (channel_.phase_ == "presync" || channel_.phase_ == "finalsync")) {
      damaged.assign(chunk.begin(), chunk.end());
      std::string point = "transfer." + channel_.phase_ + "-first-chunk-sending";
      DOCKMIG_FAULT_POINT(point, [this] { channel_.close(); }, damaged);
      chunk = damaged;
    }
#endif
    Status sent = channel_.write_frame(FrameKind::Chunk, chunk);
    if (!sent) return std::move(sent.error()).wrap("sending blob `" + name_ + "`");
    if (chunks_sent_++ == 0) DOCKMIG_FAULT_POINT("transfer.blob-first-chunk-sent", [this] { channel_.close(); });
    return sent;
  }

  Status flush() {
    Status sent = send_chunk(buffer_);
    buffer_.clear();
    return sent;
  }

  Channel& channel_;
  std::string name_;
  Status status_;  // sticky: after one failed send, every later call reports it
  DigestContext digest_;
  std::vector<std::byte> buffer_;
  uint64_t chunks_sent_ = 0;
  bool finished_ = false;
};

std::unique_ptr<ByteSink> Channel::send_blob(const std::string& name) {
  Status started = send_message({{"type", "blob"}, {"name", name}});
  if (!started) started = std::move(started.error()).wrap("sending blob `" + name + "`");
  return std::make_unique<BlobSink>(*this, name, std::move(started));
}

Status Channel::receive_blob(const std::string& name, ByteSink& out) {
  std::string context = "receiving blob `" + name + "` from `" + peer() + "`";
  Result<Frame> first = read_frame();
  if (!first) return std::move(first.error()).wrap(context);
  if (first->kind == FrameKind::Error) return peer_error(first->payload);
  if (first->kind != FrameKind::Message) {
    return make_error(ErrorCode::InvalidInput, context + ": got a " + kind_name(first->kind) + " frame instead");
  }
  nlohmann::json start = nlohmann::json::parse(as_text(first->payload), nullptr, false);
  if (!start.is_object() || string_field(start, "type") != "blob" || string_field(start, "name") != name) {
    return make_error(ErrorCode::InvalidInput, context + ": got " + dump(start) + " instead");
  }
  DigestContext digest = new_sha256();
  if (!digest) return make_error(ErrorCode::Internal, context + ": cannot set up SHA-256 (OpenSSL)");
  for (uint64_t chunks = 0;;) {
    Result<Frame> frame = read_frame();
    if (!frame) return std::move(frame.error()).wrap(context);
    switch (frame->kind) {
      case FrameKind::Chunk: {
        EVP_DigestUpdate(digest.get(), frame->payload.data(), frame->payload.size());
        if (Status written = out.write(frame->payload); !written) return std::move(written.error()).wrap(context);
        if (chunks++ == 0) DOCKMIG_FAULT_POINT("transfer.blob-first-chunk-received", [this] { close(); });
        break;
      }
      case FrameKind::BlobEnd: {
        std::array<std::byte, kDigestSize> expected = final_digest(digest.get());
        if (frame->payload.size() != kDigestSize ||
            !std::equal(expected.begin(), expected.end(), frame->payload.begin())) {
          // Network, not InvalidInput: the link damaged it, and a retry may well succeed.
          return make_error(ErrorCode::Network, context + ": its SHA-256 does not match, the data was damaged",
                            "retry the migration; if it happens again, check the network path between the hosts");
        }
        if (Status finished = out.finish(); !finished) return std::move(finished.error()).wrap(context);
        return {};
      }
      case FrameKind::Error:
        return peer_error(frame->payload);
      case FrameKind::Message:
        return make_error(ErrorCode::InvalidInput, context + ": got a message in the middle of the blob");
      case FrameKind::Ack:  // read_frame takes those on a resumable link
        return make_error(ErrorCode::InvalidInput, context + ": got an Ack frame on a link that does not resume");
    }
  }
}

void Channel::enable_resume(Reattach reattach) {
  resend_.emplace();
  reattach_ = std::move(reattach);
  connection_.set_silence_limit(kLinkSilence);
}

Status Channel::note_received() {
  if (!resend_->received_one()) return {};
  uint64_t count = resend_->take_ack();
  std::array<std::byte, 8> payload{};
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(count >> (56 - 8 * i));
  return write_raw(FrameKind::Ack, payload);
}

Status Channel::take_ack(const Frame& frame) {
  if (frame.payload.size() != 8)
    return make_error(ErrorCode::InvalidInput, "`" + peer() + "` sent a malformed Ack frame");
  uint64_t count = 0;
  for (std::byte b : frame.payload) count = (count << 8) | std::to_integer<uint64_t>(b);
  return resend_->acknowledged(count);
}

// A sender that never reads would keep all it sent: beyond the window it reads until
// the peer acknowledges, keeping for later what else arrives.
Status Channel::await_window() {
  while (resend_->kept_bytes() > kResendWindow) {
    Result<Frame> frame = read_raw_frame();
    if (!frame) {
      if (Status back = resume_after(std::move(frame.error())); !back) return back;
      continue;
    }
    if (frame->kind == FrameKind::Error) return peer_error(frame->payload);
    if (frame->kind == FrameKind::Ack) {
      if (Status taken = take_ack(*frame); !taken) return taken;
      continue;
    }
    note_received().ignore("a lost link shows at the next read or write");
    pending_.push_back(std::move(*frame));
  }
  return {};
}

// Only a lost link is resumed: a peer that closed it, or failed, or sent garbage, ends
// the conversation as before.
Status Channel::resume_after(Error cause) {
  constexpr int kAttempts = 5;  // a link that breaks again while resuming is tried anew
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (!lost()) return cause;
    spdlog::warn("the link to {} broke ({}); resuming it", peer(), cause.message);
    auto began = std::chrono::steady_clock::now();
    Result<Connection> fresh = reattach_(connection_.link_reset());
    if (!fresh) {
      Error failed = make_error(ErrorCode::Network, "the link to `" + peer() + "` broke and could not be resumed: " +
                                                        fresh.error().message, fresh.error().hint);
      failed.detail = cause.describe();
      return failed;
    }
    {
      std::lock_guard<std::mutex> lock(link_mutex_);
      if (closed_) return cause;
      connection_ = std::move(*fresh);
      superseded_ = false;
      damaged_ = false;
    }
    connection_.set_silence_limit(kLinkSilence);
    uint64_t resent_before = resume_stats_.resent_bytes;
    Status resumed = exchange_counts();
    if (resumed) {
      ++resume_stats_.resumes;
      spdlog::warn("the link to {} resumed after {:.1f} s; {} bytes sent again", peer(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
                   resume_stats_.resent_bytes - resent_before);
      return {};
    }
    cause = std::move(resumed.error());
  }
  return cause;
}

// On the new link both sides say how many frames they received whole, then each sends
// again those the other lacks.
Status Channel::exchange_counts() {
  nlohmann::json said = {{"type", "resumed"}, {"received", resend_->frames_received()}};
  if (Status sent = write_raw(FrameKind::Message, as_bytes(dump(said))); !sent) return sent;
  Result<Frame> answer = read_raw_frame();
  if (!answer) return std::move(answer.error());
  if (answer->kind == FrameKind::Error) return peer_error(answer->payload);
  nlohmann::json message = nlohmann::json::parse(as_text(answer->payload), nullptr, false);
  auto received = message.is_object() ? message.find("received") : message.end();
  if (answer->kind != FrameKind::Message || string_field(message, "type") != "resumed" || received == message.end() ||
      !received->is_number_unsigned())
    return make_error(ErrorCode::InvalidInput, "`" + peer() + "` answered a resume with something else");
  Result<std::vector<const ResendLog::Frame*>> again = resend_->resend_after(received->get<uint64_t>());
  if (!again) return std::move(again.error());
  for (const ResendLog::Frame* frame : *again) {
    if (Status sent = write_raw(static_cast<FrameKind>(frame->kind), frame->payload); !sent) return sent;
    ++resume_stats_.resent_frames;
    resume_stats_.resent_bytes += kFrameHeaderSize + frame->payload.size();
  }
  return {};
}

void Channel::supersede_link() {
  std::lock_guard<std::mutex> lock(link_mutex_);
  superseded_ = true;
  connection_.close();
}

Connection Channel::release_connection() {
  std::lock_guard<std::mutex> lock(link_mutex_);
  closed_ = true;
  return std::move(connection_);
}

void Channel::close() {
  std::lock_guard<std::mutex> lock(link_mutex_);
  closed_ = true;
  connection_.close();
}

void Channel::send_error_and_close(const Error& error) {
  nlohmann::json body = {{"code", to_string(error.code)}, {"message", error.message}, {"hint", error.hint}};
  if (!error.detail.empty()) body["detail"] = error.detail;
  std::string text = dump(body);
  // An oversized detail (a long CRIU log) must not cost the peer the message itself.
  if (text.size() > kMaxFrame) {
    body.erase("detail");
    text = dump(body);
  }
  closed_ = true;  // best effort: a lost link is not resumed for this
  write_raw(FrameKind::Error, as_bytes(text)).ignore("best effort: the connection is being dropped anyway");
  close();
}

}  // namespace dockmig::transfer
