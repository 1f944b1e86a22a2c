// A migration's conversation on top of transfer::Channel. Blobs are zstd-compressed on
// the way out; the destination keeps them compressed in a staging file until the
// channel has verified their checksum, and only then decompresses while applying.
// Every answer from the peer also measures the link: the blob bytes sent since the last
// answer, over the time since the first of them left (transfer/link_rate.h); the next
// blob's level is weighed against that rate.
#include "migrate/session.h"

#include <charconv>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "layers/upper_tar.h"
#include "migrate/link_resume.h"
#include "migrate/peer_message.h"
#include "transfer/file_stream.h"
#include "transfer/tls.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
constexpr auto kConnectTimeout = std::chrono::seconds(5);

/// Counts the raw bytes a producer writes, tells the watcher, and makes a second finish()
/// harmless (some producers finish their sink, some do not).
class RawMeter : public transfer::ByteSink {
 public:
  RawMeter(transfer::ByteSink& next, PhaseReport& phase, Progress& progress)
      : next_(next), phase_(phase), progress_(progress) {}
  Status write(std::span<const std::byte> data) override {
    phase_.raw_bytes += data.size();
    progress_.bytes_moved(phase_.name, phase_.raw_bytes);
    return next_.write(data);
  }
  Status finish() override {
    if (finished_) return {};
    finished_ = true;
    return next_.finish();
  }

 private:
  transfer::ByteSink& next_;
  PhaseReport& phase_;
  Progress& progress_;
  bool finished_ = false;
};

/// Tells the link meter when a blob's compressed bytes leave for the channel.
class LinkTap : public transfer::ByteSink {
 public:
  LinkTap(transfer::ByteSink& next, transfer::LinkRateMeter& meter) : next_(next), meter_(meter) {}
  Status write(std::span<const std::byte> data) override {
    meter_.sent(data.size(), std::chrono::steady_clock::now());
    bytes_ += data.size();
    return next_.write(data);
  }
  Status finish() override { return next_.finish(); }
  uint64_t bytes() const { return bytes_; }

 private:
  transfer::ByteSink& next_;
  transfer::LinkRateMeter& meter_;
  uint64_t bytes_ = 0;
};

Status compress_and_send(const std::string& name, transfer::ByteSink& compressor, PhaseReport& phase,
                         Progress& progress, const std::function<Status(transfer::ByteSink&)>& produce) {
  RawMeter meter(compressor, phase, progress);
  Status produced = produce(meter);
  if (!produced) return std::move(produced.error()).wrap("sending " + name);
  return meter.finish();
}

void log_level_choice(const StreamCompression& used, const std::vector<transfer::LevelTrial>& trials) {
  std::string tried;
  double seconds = 0;
  char trial_text[96];
  for (const transfer::LevelTrial& trial : trials) {
    std::snprintf(trial_text, sizeof trial_text, " %d: %.1f MB/s, ratio %.2f;", trial.level,
                  trial.raw_bytes / std::max(trial.seconds, 1e-9) / 1e6,
                  static_cast<double>(trial.raw_bytes) / std::max<uint64_t>(trial.compressed_bytes, 1));
    tried += trial_text;
    seconds += trial.seconds;
  }
  spdlog::debug("blob {}: zstd level {} (at the end {}) for a link of {:.2f} Mbit/s; {} trials in {:.3f} s{}",
                used.stream, used.zstd_level, used.final_zstd_level, used.link_bytes_per_second * 8 / 1e6,
                trials.size(), seconds, tried);
}

}  // namespace

std::string new_session_id() {
  std::random_device random;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random(), random());
  return text;
}

Result<Endpoint> parse_endpoint(const std::string& text) {
  size_t colon = text.rfind(':');
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::InvalidInput, "`" + text + "` is not ADDR:PORT (" + why + ")",
                      "give the destination agent as e.g. 10.77.1.2:7070");
  };
  if (colon == std::string::npos || colon == 0) return bad("no `:PORT`");
  Endpoint endpoint;
  endpoint.host = text.substr(0, colon);
  if (endpoint.host.front() == '[' && endpoint.host.back() == ']')
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || first == last || port == 0 || port > 65535)
    return bad("the port must be a number from 1 to 65535");
  for (char c : endpoint.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':'))
      return bad("the address has a `" + std::string(1, c) + "`");
  endpoint.port = static_cast<uint16_t>(port);
  return endpoint;
}

Status check_transport_security(const TransportSecurity& security) {
  bool any_file = !security.cert.empty() || !security.key.empty() || !security.ca.empty();
  bool all_files = !security.cert.empty() && !security.key.empty() && !security.ca.empty();
  if (security.insecure && any_file)
    return make_error(ErrorCode::InvalidInput, "--insecure and --tls-* were both given",
                      "use TLS (--tls-cert, --tls-key, --tls-ca) or --insecure, not both");
  if (!security.insecure && !all_files)
    return make_error(ErrorCode::InvalidInput,
                      any_file ? "TLS needs all of --tls-cert, --tls-key and --tls-ca"
                               : "no TLS certificate for the link between the agents",
                      "give --tls-cert, --tls-key and --tls-ca (make them with `dockmig certs`), or "
                      "--insecure on both ends for plain TCP");
  return {};
}

Result<Session> Session::connect(const std::string& destination, const TransportSecurity& security) {
  if (Status checked = check_transport_security(security); !checked) return std::move(checked.error());
  Result<Endpoint> endpoint = parse_endpoint(destination);
  if (!endpoint) return std::move(endpoint.error());
  std::shared_ptr<const transfer::TlsContext> tls;
  if (!security.insecure) {
    Result<std::shared_ptr<const transfer::TlsContext>> loaded =
        transfer::TlsContext::load({security.cert, security.key, security.ca}, transfer::TlsRole::Client);
    if (!loaded) return std::move(loaded.error());
    tls = std::move(*loaded);
  }
  Result<transfer::Connection> connection =
      transfer::Connection::connect(endpoint->host, endpoint->port, kConnectTimeout);
  if (!connection)
    return std::move(connection.error())
        .wrap("reaching the destination agent")
        .with_hint("start it there with `dockmig serve --listen " + destination + "`");
  auto handshake_by = std::chrono::steady_clock::now() + kDialHandshakeDeadline;
  if (tls) {
    std::string name = security.server_name.empty() ? endpoint->host : security.server_name;
    if (Status secured = connection->start_tls(*tls, name, handshake_by); !secured)
      return std::move(secured.error()).wrap("securing the link to the destination agent");
  }
  Result<std::unique_ptr<transfer::Channel>> channel = transfer::Channel::open(std::move(*connection), handshake_by);
  if (!channel) return std::move(channel.error());
  return Session(std::move(*channel));
}

Result<Session> Session::connect(const std::string& destination) {
  TransportSecurity plain;
  plain.insecure = true;
  return connect(destination, plain);
}

std::string Session::transport() const { return channel_->secure() ? "tls" : "tcp"; }

Result<Session> Session::accept(transfer::Connection connection) {
  return accept(std::move(connection), std::chrono::steady_clock::now() + transfer::Channel::kHelloTimeout);
}

Result<Session> Session::accept(transfer::Connection connection, std::chrono::steady_clock::time_point hello_by) {
  Result<std::unique_ptr<transfer::Channel>> channel = transfer::Channel::open(std::move(connection), hello_by);
  if (!channel) return std::move(channel.error());
  return Session(std::move(*channel));
}

Result<std::string> Session::await_settled_state(const std::string& destination, const std::string& id) {
  TransportSecurity plain;
  plain.insecure = true;
  return await_settled_state(destination, id, plain);
}

Result<std::string> Session::await_settled_state(const std::string& destination, const std::string& id,
                                                 const TransportSecurity& security, std::chrono::seconds reach_for) {
  auto reach_until = std::chrono::steady_clock::now() + reach_for;
  // The destination may still be restoring; it settles within its own restore time.
  for (int attempt = 0; attempt < 120; ++attempt) {
    Result<Session> session = connect(destination, security);
    while (!session && std::chrono::steady_clock::now() < reach_until) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      session = connect(destination, security);
    }
    if (!session) return std::move(session.error());
    Result<json> answer = session->request({{"type", "status"}, {"migration", id}}, "status");
    if (!answer) return std::move(answer.error());
    PeerMessage fields(*answer);
    std::string state = fields.string_or("state", "unknown");
    if (Status read = fields.status(); !read) return std::move(read.error());
    if (state != "active") return state;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return make_error(ErrorCode::Timeout, "the destination still reports migration " + id + " as active after 60 s");
}

void Session::resume_as_source(const std::string& destination, const TransportSecurity& security,
                               const std::string& migration, const std::string& token) {
  transfer::Channel* channel = channel_.get();
  channel_->enable_resume([=](bool) -> Result<transfer::Connection> {
    auto until = std::chrono::steady_clock::now() + kSourceRedialWindow;
    std::string last = "no attempt";
    while (std::chrono::steady_clock::now() < until && !channel->closed()) {
      Result<Session> again = connect(destination, security);
      Status asked = again ? again->send_message({{"type", "resume"}, {"migration", migration}, {"token", token}})
                           : Status(again.error());
      if (asked) return again->channel_->release_connection();
      last = asked.error().message;
      // Nothing listens there: the agent died, and its sessions with it.
      if (last.find(std::strerror(ECONNREFUSED)) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return make_error(ErrorCode::Network, "the destination agent could not be reached again within " +
                                              std::to_string(kSourceRedialWindow.count()) + " s (" + last + ")");
  });
}

void Session::resume_as_destination(const std::string& migration, const std::string& token,
                                    const std::string& source_container) {
  transfer::Channel* channel = channel_.get();
  resume_registration_ =
      link_resumes().open(migration, token, channel_->peer_identity(), [channel] { channel->supersede_link(); });
  link_resumes().name_source(migration, source_container, peer_name());
  channel_->enable_resume([migration](bool reset) {
    return link_resumes().await(migration, reset ? kDestinationGraceAfterReset : kDestinationGrace);
  });
}

std::string Session::peer_name() const {
  if (std::string identity = channel_->peer_identity(); !identity.empty()) return "certificate " + identity;
  const std::string& address = channel_->peer();
  return "address " + address.substr(0, address.rfind(':'));
}

Status Session::offer_for_resume(const std::string& migration, const std::string& token) {
  return link_resumes().offer(migration, token, channel_->peer_identity(),
                              [this] { return channel_->release_connection(); });
}

void Session::set_phase(const std::string& phase) {
  phase_ = phase;
  channel_->set_phase(phase);
}

bool Session::frozen() const {
  if (phase_ == "postcopy") return true;  // not downtime, but a restored process may wait for each page
  bool checkpoint_passed = false;
  for (const char* name : kPhaseNames) {
    checkpoint_passed = checkpoint_passed || std::string_view(name) == "checkpoint";
    if (phase_ == name) return checkpoint_passed;
  }
  return false;
}

uint64_t Session::wire_bytes(const std::string& phase) const { return channel_->wire_bytes(phase); }

Status Session::send_message(const json& message) { return channel_->send_message(message); }

Result<json> Session::receive_message() {
  Result<json> message = channel_->receive_message();
  if (message) link_rate_.answered(std::chrono::steady_clock::now());
  return message;
}

Result<json> Session::expect(const std::string& type) {
  Result<json> message = receive_message();
  if (!message) return message;
  PeerMessage fields(*message, "the message from " + channel_->peer());
  std::string got = fields.type();
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (got != type)
    return make_error(ErrorCode::InvalidInput,
                      "protocol: expected a `" + type + "` message from " + channel_->peer() + ", got `" + got + "`");
  return message;
}

Result<json> Session::request(const json& message, const std::string& reply_type) {
  Status sent = send_message(message);
  if (!sent) return std::move(sent.error());
  return expect(reply_type);
}

Status Session::send_stream(const std::string& name, PhaseReport& phase, Progress& progress, int zstd_level,
                            const std::function<Status(transfer::ByteSink&)>& produce) {
  std::unique_ptr<transfer::ByteSink> blob = channel_->send_blob(name);
  LinkTap wire(*blob, link_rate_);
  StreamCompression used{name, zstd_level, zstd_level, zstd_level == kZstdLevelAuto, link_rate_.bytes_per_second()};
  uint64_t raw_before = phase.raw_bytes;
  Status sent;
  if (used.automatic) {
    transfer::AutoLevelZstdSink compressed(wire, used.link_bytes_per_second, zstd_, !frozen());
    sent = compress_and_send(name, compressed, phase, progress, produce);
    used.zstd_level = compressed.chosen_level();
    used.final_zstd_level = compressed.level();
    log_level_choice(used, compressed.trials());
  } else {
    transfer::ZstdCompressSink compressed(wire, zstd_level, zstd_.get());
    sent = compress_and_send(name, compressed, phase, progress, produce);
  }
  used.raw_bytes = phase.raw_bytes - raw_before;
  used.wire_bytes = wire.bytes();
  phase.compression.push_back(used);
  return sent;
}

Status Session::receive_blob_to_file(const std::string& name, const std::filesystem::path& path) {
  Result<transfer::FileSink> file = transfer::FileSink::create(path);
  if (!file) return std::move(file.error());
  return channel_->receive_blob(name, *file);
}

Status Session::receive_tree(const std::string& name, const std::filesystem::path& staging_file,
                             const std::filesystem::path& dir) {
  Status received = receive_blob_to_file(name, staging_file);
  if (!received) return received;
  return extract_blob(staging_file, dir);
}

Status extract_blob(const std::filesystem::path& blob, const std::filesystem::path& dir) {
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource tar(*file);
  Result<layers::ExtractStats> stats = layers::extract_tar(tar, dir);
  if (!stats) return std::move(stats.error());
  return {};
}

void Session::abort(const Error& error) { channel_->send_error_and_close(error); }

}  // namespace dockmig::migrate
