// The receiving agent: accepts connections from source hosts and serves each on its own
// thread, at most max_sessions at a time (the rest wait in the listen backlog). SIGINT and
// SIGTERM stop the accept loop and let running migrations finish or abandon themselves,
// so a stopped agent never leaves a half-restored container behind.
#include "agent/agent.h"

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include <spdlog/spdlog.h>

#include "migrate/destination_migration.h"
#include "migrate/session.h"
#include "transfer/channel.h"

namespace dockmig::agent {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

class SessionSlots {
 public:
  explicit SessionSlots(int capacity) : free_(capacity) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    { std::lock_guard lock(mutex_); ++free_; }
    changed_.notify_all();
  }
  void wait_idle(int capacity) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return free_ == capacity; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int free_;
};

}  // namespace

Status serve(const AgentOptions& options) {
  Result<docker::EngineClient> engine = docker::EngineClient::open(options.docker);
  if (!engine) return std::move(engine.error());
  Result<migrate::Endpoint> endpoint = migrate::parse_endpoint(options.listen);
  if (!endpoint) return std::move(endpoint.error()).wrap("--listen");
  Result<transfer::Listener> listener = transfer::Listener::listen(endpoint->host, endpoint->port);
  if (!listener) return std::move(listener.error());
  struct sigaction action{};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  migrate::MigrationLedger ledger;
  migrate::DestinationContext context{*engine, std::filesystem::path(options.state_dir) / "staging", ledger};
  Status recovered = migrate::recover_interrupted(context);
  if (!recovered) return recovered;
  SessionSlots slots(options.max_sessions);
  spdlog::info("dockmig agent listening on {} (docker {})", options.listen, options.docker);
  std::fprintf(stderr, "dockmig agent: listening on %s, docker %s\n", options.listen.c_str(), options.docker.c_str());
  while (!g_stop) {
    Result<std::optional<transfer::Connection>> accepted = listener->accept_for(std::chrono::milliseconds(500));
    if (!accepted) {
      spdlog::warn("accept: {}", accepted.error().message);
      continue;
    }
    if (!accepted->has_value()) continue;
    slots.acquire();
    std::thread([&slots, &context, connection = std::move(**accepted)]() mutable {
      Result<migrate::Session> session = migrate::Session::accept(std::move(connection));
      if (session) {
        Status served = migrate::serve_session(*session, context);
        if (!served) std::fprintf(stderr, "dockmig agent: %s\n", served.error().describe().c_str());
      } else {
        std::fprintf(stderr, "dockmig agent: %s\n", session.error().describe().c_str());
      }
      slots.release();
    }).detach();
  }
  std::fprintf(stderr, "dockmig agent: stopping; waiting for running migrations\n");
  slots.wait_idle(options.max_sessions);
  return {};
}

}  // namespace dockmig::agent
