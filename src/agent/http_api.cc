// Sets up cpp-httplib for the API: HTTPS with this agent's certificate (client certificates
// of its CA are asked for, not required, so token callers need none) or plain HTTP, bounded
// bodies, a fixed pool of threads, and connections served by api_connection.h, so that a
// slow or silent client cannot hold a thread for long nor take them all. OpenSSL writes to a vanished HTTPS client with write(), which
// raises SIGPIPE: the server's threads block it, so such a write just fails.
#include "agent/http_api.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>

#include <thread>

#include "agent/api_connection.h"
#include "agent/api_fleet_routes.h"
#include "agent/api_routes.h"
#include "migrate/session.h"

namespace dockmig::agent {
namespace {

constexpr std::chrono::seconds kWriteTimeout{10};
constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

/// The server's TLS settings; false (after noting why in `failure`) when a file is bad.
bool set_up_tls(SSL_CTX& context, const transfer::TlsFiles& files, std::string& failure) {
  SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION);
  bool ok = SSL_CTX_use_certificate_chain_file(&context, files.cert.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(&context, files.key.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_check_private_key(&context) == 1 &&
            SSL_CTX_load_verify_locations(&context, files.ca.c_str(), nullptr) == 1;
  if (!ok) {
    failure = transfer::openssl_errors();
    return false;
  }
  SSL_CTX_set_client_CA_list(&context, SSL_load_client_CA_file(files.ca.c_str()));
  SSL_CTX_set_verify(&context, SSL_VERIFY_PEER, nullptr);  // asked for, not required
  return true;
}

class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &previous_);
  }
  ~SigpipeBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

}  // namespace

struct ApiServer::State {
  std::unique_ptr<httplib::Server> server;
  std::unique_ptr<ApiRoutes> routes;
  std::unique_ptr<FleetRoutes> fleet_routes;
  std::thread thread;
};

ApiServer::ApiServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::start(const ApiConfig& config, HandoffQueue& queue, HostBackend& host) {
  // Port 0 picks a free port (tests); parse_endpoint refuses it, rightly for real use.
  bool any_port = config.listen.size() > 2 && config.listen.ends_with(":0");
  Result<migrate::Endpoint> endpoint =
      any_port ? migrate::Endpoint{config.listen.substr(0, config.listen.size() - 2), 0}
               : migrate::parse_endpoint(config.listen);
  if (!endpoint) return std::move(endpoint.error()).wrap("--api");
  if (config.tls) {
    // Checked with our own loader first: its errors name the file and what to do.
    Result<std::shared_ptr<const transfer::TlsContext>> checked =
        transfer::TlsContext::load(*config.tls, transfer::TlsRole::Server);
    if (!checked) return std::move(checked.error()).wrap("the HTTPS API");
  }
  auto state = std::make_unique<State>();
  int threads = std::max(4, config.threads);
  // A gateway may hold every event stream (half the threads) and still make a request.
  ConnectionLimits limits{config.request_deadline, config.read_timeout, kWriteTimeout, threads / 2 + 1};
  std::string tls_failure;
  if (config.tls) {
    transfer::TlsFiles files = *config.tls;
    state->server = std::make_unique<BoundedSslServer>(
        limits, [&](SSL_CTX& context) { return set_up_tls(context, files, tls_failure); });
  } else {
    state->server = std::make_unique<BoundedServer>(limits);
  }
  if (!state->server->is_valid())
    return make_error(ErrorCode::InvalidInput, "cannot set up the HTTPS API: " + tls_failure);
  httplib::Server& server = *state->server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_payload_max_length(kMaxBodyBytes);
  // An event stream holds a thread while it lasts; keep half of them for everything else.
  state->routes = std::make_unique<ApiRoutes>(queue, host, config.tokens, threads / 2, config.fleet);
  state->routes->install(server);
  state->fleet_routes =
      std::make_unique<FleetRoutes>(*state->routes, config.fleet, config.tls.has_value(),
                                    WatchSettings{config.watch_metrics, config.watch_heartbeat});
  state->fleet_routes->install(server);
  if (const metrics::Registry* metrics = config.metrics)
    server.Get("/metrics", state->routes->authed([metrics](const httplib::Request&, httplib::Response& response,
                                                           const std::string&) {
      response.set_content(metrics->render(), kPrometheusText);
    }));
  int port = any_port ? server.bind_to_any_port(endpoint->host)
                      : (server.bind_to_port(endpoint->host, endpoint->port) ? endpoint->port : -1);
  if (port <= 0)
    return make_error(ErrorCode::Network, "cannot listen on --api `" + config.listen + "`",
                      "the address must be one of this host's, and the port free");
  std::unique_ptr<ApiServer> api(new ApiServer(std::move(state)));
  api->secure_ = config.tls.has_value();
  api->port_ = static_cast<uint16_t>(port);
  // The pool's threads are made by listen_after_bind on this thread, and inherit its mask.
  api->state_->thread = std::thread([&server] {
    SigpipeBlocked blocked;
    server.listen_after_bind();
  });
  return api;
}

void ApiServer::stop() {
  if (!state_ || !state_->thread.joinable()) return;
  state_->routes->stop_streams();
  state_->server->stop();
  state_->thread.join();
}

}  // namespace dockmig::agent
