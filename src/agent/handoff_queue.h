// The handoffs an agent was asked for over its HTTP API: at most one per container at a
// time, at most `running` at once (the rest wait in order), each on the queue's own worker
// threads, so a handoff goes on when the caller that asked for it disconnects. Each keeps
// a log of events (state, phases, progress) that GET /v1/handoffs/{id}/events streams.
// No Docker in here: the migration itself is the injected Runner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/api_request.h"
#include "dockmig/migration.h"
#include "migrate/progress.h"
#include "migrate/source_migration.h"

namespace dockmig::agent {

enum class HandoffState { Queued, Running, Succeeded, Failed, RolledBack };

struct HandoffEvent {
  uint64_t id = 0;    // 1, 2, ... within one handoff: the SSE `id:`, for Last-Event-ID
  std::string name;   // state | phase-started | progress | phase-finished | end
  nlohmann::json data;
};

/// What GET /v1/handoffs/{id} answers.
struct HandoffStatus {
  std::string id;
  HandoffSpec spec;
  std::string caller;           // the token's (or client certificate's) name
  HandoffState state = HandoffState::Queued;
  std::string phase;            // the phase running now, or the last one started
  std::string reason;           // why it failed or was rolled back
  bool needs_attention = false; // neither confirmed at the destination nor resumed here
  std::optional<MigrationReport> report;  // once it ended
  std::chrono::system_clock::time_point created, started, finished;
};

/// "queued", "running:<phase>", "succeeded", "failed" or "rolled_back".
std::string state_text(const HandoffStatus& status);
nlohmann::json to_json(const HandoffStatus& status);

struct Submission {
  enum class Outcome {
    Accepted,       // a new handoff, `id`
    Replayed,       // the same caller, Idempotency-Key and request as handoff `id`
    KeyReused,      // the key came before with another request (`id`)
    ContainerBusy,  // handoff (or preparation) `id` holds the container
    QueueFull,
    Stopping,       // the agent is shutting down
  };
  Outcome outcome;
  std::string id;
};

class HandoffQueue {
 public:
  /// Runs one handoff to its end; the agent's calls migrate::run_migration.
  using Runner = std::function<migrate::MigrationOutcome(const HandoffSpec&, migrate::Progress&)>;
  struct Limits {
    int running = 2;     // handoffs at once
    size_t queued = 32;  // waiting at most; more are refused (QueueFull)
    size_t kept = 256;   // ended handoffs remembered for GET (oldest forgotten first)
  };

  HandoffQueue(Runner runner, Limits limits);
  /// Stops as shutdown() does.
  ~HandoffQueue();
  HandoffQueue(const HandoffQueue&) = delete;
  HandoffQueue& operator=(const HandoffQueue&) = delete;

  /// Queues a handoff of the container whose full id is `container_key`. With an
  /// Idempotency-Key, a retry by the same caller gets the first handoff back.
  Submission submit(const HandoffSpec& spec, const std::string& container_key, const std::string& caller,
                    const std::string& idempotency_key);
  /// An earlier submission by `caller` with `idempotency_key`: Replayed when it asked for
  /// the same, KeyReused when not; nullopt when the key is new (or empty). Checked before
  /// the container is looked up, since a finished handoff's container is gone from here.
  std::optional<Submission> replay_of(const HandoffSpec& spec, const std::string& caller,
                                      const std::string& idempotency_key) const;

  std::optional<HandoffStatus> status(const std::string& id) const;
  /// The newest first, at most `limit`.
  std::vector<HandoffStatus> recent(size_t limit) const;
  /// Events of handoff `id` after event `after`, waiting up to `wait` when there are none
  /// yet. False when there is no such handoff; `ended` once its last event was given.
  bool events_after(const std::string& id, uint64_t after, std::chrono::milliseconds wait,
                    std::vector<HandoffEvent>& out, bool& ended) const;
  /// The handoff or preparation holding `container_key`, if any.
  std::optional<std::string> holder_of(const std::string& container_key) const;

  /// Holds a container for work outside the queue (a preparation), so no handoff starts
  /// on it meanwhile; released when the claim is destroyed. Conflict names the holder.
  class Claim {
   public:
    Claim(HandoffQueue& queue, std::string key) : queue_(&queue), key_(std::move(key)) {}
    Claim(Claim&& other) noexcept : queue_(other.queue_), key_(std::move(other.key_)) { other.queue_ = nullptr; }
    Claim& operator=(Claim&&) = delete;
    ~Claim();

   private:
    HandoffQueue* queue_;
    std::string key_;
  };
  Result<Claim> claim(const std::string& container_key, const std::string& holder);

  size_t running() const;
  size_t queued() const;
  /// Stops taking handoffs: queued ones fail ("the agent stopped"), running ones finish.
  void shutdown();

 private:
  struct Record {
    HandoffStatus status;
    std::string container_key;
    std::string idempotency;  // caller + key, "" without a key
    std::vector<HandoffEvent> events;
    bool ended = false;
    std::chrono::steady_clock::time_point last_progress;
  };
  class Feed;

  std::optional<Submission> replay_locked(const HandoffSpec& spec, const std::string& idempotency) const;
  void work();
  void run_one(const std::string& id);
  void add_event(Record& record, std::string name, nlohmann::json data);
  void finish(Record& record, const migrate::MigrationOutcome& outcome);
  void forget_old();

  Runner runner_;
  Limits limits_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;  // new work, new events, a freed container
  std::map<std::string, Record> records_;
  std::deque<std::string> waiting_;
  std::deque<std::string> ended_order_;
  std::map<std::string, std::string> busy_;         // container key -> holder id
  std::map<std::string, std::string> idempotency_;  // caller + key -> handoff id
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace dockmig::agent
