#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "migrate/progress.h"
#include "transfer/auto_level_zstd.h"
#include "transfer/byte_stream.h"
#include "transfer/channel.h"
#include "transfer/link_rate.h"

namespace dockmig::migrate {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

/// Parses "ADDR:PORT" (an IPv4 address or host name, and a port 1-65535).
Result<Endpoint> parse_endpoint(const std::string& text);

/// Refuses a TransportSecurity that is neither complete TLS files nor explicitly insecure,
/// or both at once, naming the flags to give.
Status check_transport_security(const TransportSecurity& security);

/// One migration's conversation between two agents, on top of transfer::Channel: typed
/// messages, compressed blobs, and the bytes on the wire attributed to each phase.
class Session {
 public:
  /// An agent drops a link whose peer has not finished its handshake (first byte, TLS,
  /// hello) this long after the connection was accepted, however it spaces its bytes.
  static constexpr std::chrono::seconds kAcceptHandshakeDeadline{15};
  /// A source waits this long for its handshake: longer than an agent's deadline, since a
  /// connection waits in the agent's backlog while all its handshake places are taken.
  static constexpr std::chrono::seconds kDialHandshakeDeadline{2 * kAcceptHandshakeDeadline};
  /// Source side: connects to the destination agent, runs the TLS handshake (unless
  /// `security.insecure`) and exchanges protocol versions.
  static Result<Session> connect(const std::string& destination, const TransportSecurity& security);
  /// Plain TCP, as before TLS existed; kept only until every caller passes its security.
  static Result<Session> connect(const std::string& destination);
  /// Destination side: the hello exchange on an accepted connection; the peer's hello
  /// must have arrived by `hello_by` (by default within Channel::kHelloTimeout).
  static Result<Session> accept(transfer::Connection connection);
  static Result<Session> accept(transfer::Connection connection, std::chrono::steady_clock::time_point hello_by);
  /// Asks the destination how migration `id` ended, waiting while it is still active:
  /// "committed", "aborted" or "unknown".
  /// A destination that cannot be reached is tried again for `reach_for` (a link that
  /// broke may come back; the destination then has decided), else it fails at once.
  static Result<std::string> await_settled_state(const std::string& destination, const std::string& id,
                                                 const TransportSecurity& security,
                                                 std::chrono::seconds reach_for = std::chrono::seconds(0));
  static Result<std::string> await_settled_state(const std::string& destination, const std::string& id);

  /// "tls" or "tcp": what this session's link runs on (MigrationReport::transport).
  std::string transport() const;
  /// The peer's address, for errors and logs.
  const std::string& peer() const { return channel_->peer(); }

  void set_phase(const std::string& phase);
  uint64_t wire_bytes(const std::string& phase) const;
  /// Bytes on their way to the peer, not yet acknowledged by its host.
  uint64_t unacknowledged_bytes() const { return channel_->unacknowledged_bytes(); }

  Status send_message(const nlohmann::json& message);
  Result<nlohmann::json> receive_message();
  /// Receives the next message and checks its type; a peer's Error frame becomes the Error.
  Result<nlohmann::json> expect(const std::string& type);
  /// send_message then expect(reply_type).
  Result<nlohmann::json> request(const nlohmann::json& message, const std::string& reply_type);

  /// Streams a blob: `produce` writes raw bytes, which are counted into `phase.raw_bytes`,
  /// zstd-compressed and framed with a checksum. With kZstdLevelAuto the level is chosen
  /// from the link rate measured so far and trials on the blob's first bytes; the level
  /// used is added to `phase.compression`.
  Status send_stream(const std::string& name, PhaseReport& phase, Progress& progress, int zstd_level,
                     const std::function<Status(transfer::ByteSink&)>& produce);
  /// The link's rate as measured from the blobs sent and the peer's answers; 0 until a
  /// large enough blob was answered.
  double link_bytes_per_second() const { return link_rate_.bytes_per_second(); }
  /// Receives blob `name` into a file, as sent (compressed); returns only once its checksum
  /// is verified, so the caller may apply it.
  Status receive_blob_to_file(const std::string& name, const std::filesystem::path& path);
  /// Receives blob `name`, a compressed tar, into `staging_file`, then extracts it into `dir`.
  Status receive_tree(const std::string& name, const std::filesystem::path& staging_file,
                      const std::filesystem::path& dir);

  /// Source side, once the destination agreed (`created {resume: true}`): a lost link is
  /// dialed again for kSourceRedialWindow (migrate/link_resume.h) and the migration goes
  /// on where the destination's received frames left off.
  void resume_as_source(const std::string& destination, const TransportSecurity& security,
                        const std::string& migration, const std::string& token);
  /// Destination side, right after sending `created {resume: true}`: a lost link waits up
  /// to kDestinationGrace for the source to come back. `source_container` (the prepare's,
  /// empty from older sources) lets a new migration of it from the same peer supersede
  /// this one while it waits, before the freeze (LinkResumes::supersede).
  void resume_as_destination(const std::string& migration, const std::string& token,
                             const std::string& source_container);
  /// Who the peer is, for telling one source from another: its certificate's name under
  /// TLS, else its address without the port.
  std::string peer_name() const;
  /// This session is a source come back (first message `resume`): hands its connection
  /// to the migration waiting for it. This session is done afterwards.
  Status offer_for_resume(const std::string& migration, const std::string& token);
  const transfer::ResumeStats& resume_stats() const { return channel_->resume_stats(); }
  bool resumable() const { return channel_->resumable(); }

  /// Tells the peer why this side gives up, best effort, and closes the connection.
  void abort(const Error& error);
  /// Shuts the connection down, safe from another thread: whatever this side sends or
  /// awaits then fails at once (a signal's way to stop a migration).
  void cut() { channel_->close(); }

 private:
  explicit Session(std::unique_ptr<transfer::Channel> channel) : channel_(std::move(channel)) {}
  /// Whether the migration's downtime has begun: the phase is the checkpoint or a later one.
  bool frozen() const;
  std::unique_ptr<transfer::Channel> channel_;
  std::string phase_;
  transfer::LinkRateMeter link_rate_;
  transfer::ZstdContext zstd_;  // one for all the blobs this side sends
  std::shared_ptr<void> resume_registration_;  // destination: waiting in link_resumes() while set
};

/// A fresh id for a migration or a preparation: 16 lowercase hex digits, the form the
/// destination accepts.
std::string new_session_id();

/// Extracts a received blob (a zstd-compressed tar) into `dir`.
Status extract_blob(const std::filesystem::path& blob, const std::filesystem::path& dir);

}  // namespace dockmig::migrate
