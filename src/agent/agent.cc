// The agent: accepts links from other agents and serves each on its own thread, at most
// max_sessions at a time once their peers have said hello (the rest wait); with --api it
// also serves the gateways' HTTP API, whose handoffs run from this host on the queue's
// threads.
// SIGINT and SIGTERM stop the accept loop and the API, then let running migrations finish
// or abandon themselves, so a stopped agent never leaves a half-restored container behind.
// SIGHUP reloads the token file; the loop's half-second tick picks the signals up.
#include "agent/agent.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <spdlog/spdlog.h>

#include "agent/docker_host.h"
#include "agent/fleet_member.h"
#include "agent/handoff_metrics.h"
#include "agent/handoff_queue.h"
#include "agent/http_api.h"
#include "agent/incoming_link.h"
#include "agent/slots.h"
#include "agent/tokens.h"
#include "agent/watch_metrics.h"
#include "base/byte_units.h"
#include "base/exception_boundary.h"
#include "docker/container_info.h"
#include "migrate/destination_migration.h"
#include "migrate/destination_preflight.h"
#include "migrate/memory_sync.h"
#include "migrate/recovery.h"
#include "migrate/session.h"
#include "migrate/warm_store.h"
#include "transfer/tls.h"

namespace dockmig::agent {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_stop(int) { g_stop = true; }
void on_reload(int) { g_reload = true; }

// Links still in their handshake (first byte, TLS, hello) have places of their own, so
// that peers who connect and say nothing cannot take the sessions' places. Each holds its
// place for at most Session::kAcceptHandshakeDeadline; while all are taken, new
// connections wait in the listener's backlog, and a source waits for its handshake longer
// than that deadline (Session::kDialHandshakeDeadline), so it gets its turn.
int handshake_capacity(int max_sessions) { return std::max(16, 4 * max_sessions); }

// Waits up to half a second for a handshake place, saying so when they are all taken.
bool await_handshake_place(Slots& handshakes, int places, bool& said_full) {
  if (handshakes.try_acquire()) {
    said_full = false;
    return true;
  }
  if (!said_full)
    spdlog::warn("all {} handshake places are taken; new connections wait in the backlog", places);
  said_full = true;
  return handshakes.acquire_for(std::chrono::milliseconds(500));
}

void install_signal_handlers() {
  struct sigaction action{};
  action.sa_flags = SA_RESTART;  // other threads' reads and writes go on undisturbed
  action.sa_handler = on_stop;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  action.sa_handler = on_reload;
  sigaction(SIGHUP, &action, nullptr);
}

/// The link's TLS context, or null when the agent runs --insecure.
Result<std::shared_ptr<const transfer::TlsContext>> link_tls(const TransportSecurity& security) {
  if (security.insecure) return std::shared_ptr<const transfer::TlsContext>();
  return transfer::TlsContext::load({security.cert, security.key, security.ca}, transfer::TlsRole::Server);
}

Result<std::unique_ptr<TokenStore>> open_tokens(const AgentOptions& options) {
  if (options.tokens.empty()) {
    if (!options.api.empty() && options.security.insecure)
      return make_error(ErrorCode::InvalidInput, "--api needs --tokens FILE when the agent runs --insecure",
                        "without TLS there are no client certificates, so only tokens can authenticate callers");
    return std::unique_ptr<TokenStore>();
  }
  Result<std::unique_ptr<TokenStore>> tokens = TokenStore::open(options.tokens);
  if (!tokens) return std::move(tokens.error()).wrap("--tokens");
  return tokens;
}

void reload_tokens(TokenStore* tokens, const std::string& path) {
  if (tokens == nullptr) return;
  Status reloaded = tokens->reload();
  if (reloaded)
    spdlog::info("reloaded {} tokens from {}", tokens->size(), path);
  else
    spdlog::warn("kept the tokens in force: {}", reloaded.error().describe());
}

// What `dockmig recover` does, for the migrations this host was the source of.
void recover_sources(const AgentOptions& options, std::shared_ptr<const migrate::Ownership> ownership) {
  Status done = base::contain_exceptions("settling migrations left in doubt", [&]() -> Status {
    Result<migrate::RecoveryReport> report = migrate::recover_sources({options.state_dir, options.security, "", "", ownership});
    if (!report) return std::move(report.error());
    if (!report->migrations.empty() || !report->unreadable.empty())
      spdlog::warn("migrations left in doubt here:\n{}", migrate::to_text(*report));
    return {};
  });
  if (!done) spdlog::error("{}", done.error().describe());
}

// The preparations this host made before a restart, still good for a handoff: those of
// containers that run as they ran then (a restart may rewrite the layer under old stamps).
// The pages of containers that left, for their return (memory/return_cache.h), on disk
// under the state dir: reopened at each start, what is damaged dropped. Null with a budget of 0.
Result<std::unique_ptr<memory::ReturnCache>> open_return_cache(const AgentOptions& options) {
  Result<uint64_t> budget = base::parse_byte_size(options.store_budget);
  if (!budget) return std::move(budget.error()).wrap("--store-budget");
  auto cache = std::make_unique<memory::ReturnCache>(migrate::return_cache_dir(options.state_dir));
  if (Status opened = cache->open(*budget); !opened) return std::move(opened.error()).wrap("the return cache");
  if (*budget == 0) return std::unique_ptr<memory::ReturnCache>();
  return cache;
}

void load_preparations(const docker::EngineClient& engine, const std::string& state_dir, int ttl_seconds) {
  migrate::warm_store().set_ttl(std::chrono::seconds(ttl_seconds));
  migrate::warm_store().persist_in(std::filesystem::path(state_dir) / "warm");
  migrate::warm_store().prune([&engine](const std::string& container_id, const migrate::WarmState& state) {
    Result<nlohmann::json> inspect = engine.inspect_container(container_id);
    if (!inspect) return false;
    Result<docker::ContainerInfo> info = docker::parse_container(*inspect);
    return info && info->running && info->started_at == state.container_started_at;
  });
}

// Every few seconds: unused preparations past their time-to-live go, with their files,
// on both sides (this host as a source and as a destination).
class PreparationSweep {
 public:
  explicit PreparationSweep(const migrate::DestinationContext& context) : context_(context) {}
  void tick() {
    auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + kPeriod;
    Status swept = base::contain_exceptions("dropping expired preparations", [this]() -> Status {
      migrate::warm_store().prune();
      migrate::drop_expired_preparations(context_);
      return {};
    });
    if (!swept) spdlog::warn("{}", swept.error().describe());
  }

 private:
  static constexpr std::chrono::seconds kPeriod{2};
  const migrate::DestinationContext& context_;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace

Status serve(const AgentOptions& options) {
  if (Status checked = migrate::check_transport_security(options.security); !checked) return checked;
  Result<docker::EngineClient> engine = docker::EngineClient::open(options.docker);
  if (!engine) return std::move(engine.error());
  Result<migrate::Endpoint> endpoint = migrate::parse_endpoint(options.listen);
  if (!endpoint) return std::move(endpoint.error()).wrap("--listen");
  Result<std::shared_ptr<const transfer::TlsContext>> tls = link_tls(options.security);
  if (!tls) return std::move(tls.error());
  Result<std::unique_ptr<TokenStore>> tokens = open_tokens(options);
  if (!tokens) return std::move(tokens.error());
  // The port is taken first, so that a second agent started by mistake stops here, before
  // it settles anything; connections are refused until the host is settled.
  Result<transfer::Listener> listener = transfer::Listener::reserve(endpoint->host, endpoint->port);
  if (!listener) return std::move(listener.error());
  install_signal_handlers();
  migrate::MigrationLedger ledger(migrate::Journal::in_state_dir(options.state_dir));
  if (Status loaded = ledger.load(); !loaded) return loaded;
  Result<std::shared_ptr<const fleet::EtcdOwnership>> ownership = fleet_ownership(options);
  if (!ownership) return std::move(ownership.error());
  migrate::CriuReadiness criu(options.criu);
  metrics::Registry registry;  // before the context: sessions use it until they all ended
  HandoffMetrics handoff_metrics(registry);
  IncomingMetrics incoming_metrics(registry);
  WatchMetrics watch_metrics(registry);
  Result<std::unique_ptr<memory::ReturnCache>> return_cache = open_return_cache(options);
  if (!return_cache) return std::move(return_cache.error());
  migrate::LeftVolumes left_volumes(options.state_dir);
  migrate::DestinationContext context{*engine, std::filesystem::path(options.state_dir) / "staging", ledger,
                                      options.policy, &criu,
                                      options.memory_dir == "off"
                                          ? std::filesystem::path()
                                          : migrate::memory_staging_root(options.memory_dir, options.state_dir),
                                      ownership->get(),
                                      std::chrono::seconds(options.prepare_ttl),
                                      return_cache->get(),
                                      &incoming_metrics,
                                      &left_volumes};
  // Settled before the port opens (runc.conf repaired, what interrupted migrations made
  // removed), so that whoever reaches it finds the host as a new migration needs it.
  Status recovered = migrate::recover_interrupted(context);
  if (!recovered) return recovered;
  load_preparations(*engine, options.state_dir, options.prepare_ttl);
  if (Status opened = listener->open(); !opened) return opened;
  // Once it listens: a gateway may send migrations as soon as it sees the record; they
  // wait in the listener's backlog until the loop below takes them.
  Result<std::unique_ptr<fleet::Membership>> membership = join_fleet(options, *engine);
  if (!membership) return std::move(membership.error());
  PreparationSweep sweep(context);
  // On a thread of its own: it may ask agents that are starting too, and must not hold
  // up their questions to this one.
  std::jthread recovery([&options, owned = *ownership] { recover_sources(options, owned); });

  DockerHost host(*engine, options.security, options.criu, options.state_dir, *ownership, &handoff_metrics);
  HandoffQueue queue([&host](const HandoffSpec& spec, migrate::Progress& progress) {
    return host.run_handoff(spec, progress);
  }, {options.max_handoffs, static_cast<size_t>(options.max_queued), 256});
  Result<std::unique_ptr<FleetBackend>> fleet = fleet_view(options);
  if (!fleet) return std::move(fleet.error());
  std::unique_ptr<ApiServer> api;
  if (!options.api.empty()) {
    ApiConfig config{options.api, std::nullopt, tokens->get(), fleet->get()};
    config.metrics = &registry;
    config.watch_metrics = &watch_metrics;
    if (!options.security.insecure) config.tls = transfer::TlsFiles{options.security.cert, options.security.key, options.security.ca};
    Result<std::unique_ptr<ApiServer>> started = ApiServer::start(config, queue, host);
    if (!started) return std::move(started.error());
    api = std::move(*started);
  }

  const char* transport = options.security.insecure ? "plain TCP (--insecure)" : "TLS";
  spdlog::info("listening on {} ({}), docker {}", options.listen, transport, options.docker);
  if (*membership)
    spdlog::info("in the fleet at etcd {} (lease {}, {} s)", options.etcd, (*membership)->lease(), options.fleet_ttl);
  if (api)
    spdlog::info("API on {}://{}, {} tokens", api->secure() ? "https" : "http", options.api,
                 *tokens ? (*tokens)->size() : size_t{0});
  const int handshake_places = handshake_capacity(options.max_sessions);
  Slots handshakes(handshake_places);
  Slots sessions(options.max_sessions);
  bool said_full = false;
  while (!g_stop) {
    if (g_reload.exchange(false)) reload_tokens(tokens->get(), options.tokens);
    sweep.tick();
    if (!await_handshake_place(handshakes, handshake_places, said_full)) continue;
    Result<std::optional<transfer::Connection>> accepted = listener->accept_for(std::chrono::milliseconds(500));
    if (!accepted || !accepted->has_value()) handshakes.release();
    if (!accepted) {
      spdlog::warn("accept: {}", accepted.error().message);
      continue;
    }
    if (!accepted->has_value()) continue;
    std::thread([slots = LinkSlots{handshakes, sessions}, &context, tls = *tls,
                 connection = std::move(**accepted)]() mutable {
      serve_incoming(std::move(connection), tls.get(), context, slots);
    }).detach();
  }
  spdlog::info("stopping; waiting for running migrations");
  membership->reset();  // leaves the fleet first: gateways stop sending handoffs here
  recovery.join();
  if (api) api->stop();
  queue.shutdown();
  handshakes.wait_idle(handshake_places);
  sessions.wait_idle(options.max_sessions);
  std::error_code ec;
  if (!context.memory_root.empty()) std::filesystem::remove(context.memory_root, ec);  // only if empty
  return {};
}

}  // namespace dockmig::agent
