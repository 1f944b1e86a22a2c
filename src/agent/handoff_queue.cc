// Handoffs in order, a bounded number at once, on worker threads the queue owns. One mutex
// guards everything; the migration itself runs outside it, and its watcher (Feed) takes the
// mutex only to append an event. Progress events are thinned to a few per second, so a
// handoff's log stays small however many bytes move.
#include "agent/handoff_queue.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

namespace dockmig::agent {
namespace {

using nlohmann::json;
using SystemClock = std::chrono::system_clock;
constexpr std::chrono::milliseconds kProgressInterval{250};
constexpr size_t kMaxEventsPerHandoff = 4000;  // phases and the end always get in

std::string new_handoff_id() {
  static std::mutex mutex;
  static std::random_device random;
  std::lock_guard lock(mutex);
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random(), random());
  return text;
}

std::string iso8601(SystemClock::time_point when) {
  if (when == SystemClock::time_point()) return "";
  std::time_t seconds = SystemClock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

/// A key is the caller's own: two gateways may pick the same one.
std::string idempotency_scope(const std::string& caller, const std::string& key) {
  return key.empty() ? "" : caller + "\n" + key;
}

json phase_json(const PhaseReport& phase) {
  return {{"phase", phase.name}, {"seconds", phase.seconds}, {"wire_bytes", phase.wire_bytes},
          {"raw_bytes", phase.raw_bytes}};
}

}  // namespace

std::string state_text(const HandoffStatus& status) {
  switch (status.state) {
    case HandoffState::Queued: return "queued";
    case HandoffState::Running: return "running:" + status.phase;
    case HandoffState::Succeeded: return "succeeded";
    case HandoffState::Failed: return "failed";
    case HandoffState::RolledBack: return "rolled_back";
  }
  return "unknown";
}

json to_json(const HandoffStatus& status) {
  json out = {{"id", status.id},
              {"container", status.spec.container},
              {"destination", status.spec.destination},
              {"options", to_json(status.spec)["options"]},
              {"caller", status.caller},
              {"state", state_text(status)},
              {"phase", status.phase},
              {"created_at", iso8601(status.created)},
              {"started_at", iso8601(status.started)},
              {"finished_at", iso8601(status.finished)}};
  if (!status.reason.empty()) out["reason"] = status.reason;
  if (status.needs_attention) out["needs_attention"] = true;
  if (status.report) out["report"] = to_json(*status.report);
  return out;
}

/// The migration's watcher: turns its callbacks into the handoff's events.
class HandoffQueue::Feed : public migrate::Progress {
 public:
  Feed(HandoffQueue& queue, std::string id) : queue_(queue), id_(std::move(id)) {}

  void phase_started(std::string_view phase) override {
    with_record([&](Record& record) {
      record.status.phase = std::string(phase);
      queue_.add_event(record, "phase-started", {{"phase", phase}, {"state", state_text(record.status)}});
    });
  }
  void bytes_moved(std::string_view phase, uint64_t raw_bytes) override {
    with_record([&](Record& record) {
      auto now = std::chrono::steady_clock::now();
      if (now - record.last_progress < kProgressInterval) return;
      record.last_progress = now;
      queue_.add_event(record, "progress", {{"phase", phase}, {"raw_bytes", raw_bytes}});
    });
  }
  void phase_finished(const PhaseReport& phase) override {
    with_record([&](Record& record) { queue_.add_event(record, "phase-finished", phase_json(phase)); });
  }
  void volume_pass_finished(size_t number, const VolumePass& pass) override {
    with_record([&](Record& record) {
      queue_.add_event(record, "volume-pass", {{"pass", number}, {"seconds", pass.seconds}, {"raw_bytes", pass.raw_bytes},
                                               {"wire_bytes", pass.wire_bytes}});
    });
  }

 private:
  template <class Change>
  void with_record(Change change) {
    std::lock_guard lock(queue_.mutex_);
    auto found = queue_.records_.find(id_);
    if (found != queue_.records_.end()) change(found->second);
  }
  HandoffQueue& queue_;
  std::string id_;
};

HandoffQueue::HandoffQueue(Runner runner, Limits limits) : runner_(std::move(runner)), limits_(limits) {
  for (int i = 0; i < std::max(1, limits_.running); ++i) workers_.emplace_back([this] { work(); });
}

HandoffQueue::~HandoffQueue() { shutdown(); }

Submission HandoffQueue::submit(const HandoffSpec& spec, const std::string& container_key, const std::string& caller,
                                const std::string& idempotency_key) {
  std::lock_guard lock(mutex_);
  if (stopping_) return {Submission::Outcome::Stopping, ""};
  std::string idempotency = idempotency_scope(caller, idempotency_key);
  if (std::optional<Submission> replay = replay_locked(spec, idempotency)) return *replay;
  if (auto holder = busy_.find(container_key); holder != busy_.end())
    return {Submission::Outcome::ContainerBusy, holder->second};
  if (waiting_.size() >= limits_.queued) return {Submission::Outcome::QueueFull, ""};
  std::string id = new_handoff_id();
  Record& record = records_[id];
  record.status.id = id;
  record.status.spec = spec;
  record.status.caller = caller;
  record.status.created = SystemClock::now();
  record.container_key = container_key;
  record.idempotency = idempotency;
  if (!idempotency.empty()) idempotency_[idempotency] = id;
  busy_[container_key] = id;
  waiting_.push_back(id);
  add_event(record, "state", {{"state", "queued"}, {"position", waiting_.size()}});
  changed_.notify_all();
  return {Submission::Outcome::Accepted, id};
}

std::optional<Submission> HandoffQueue::replay_of(const HandoffSpec& spec, const std::string& caller,
                                                  const std::string& idempotency_key) const {
  std::lock_guard lock(mutex_);
  return replay_locked(spec, idempotency_scope(caller, idempotency_key));
}

std::optional<Submission> HandoffQueue::replay_locked(const HandoffSpec& spec, const std::string& idempotency) const {
  if (idempotency.empty()) return std::nullopt;
  auto seen = idempotency_.find(idempotency);
  if (seen == idempotency_.end()) return std::nullopt;
  bool same = to_json(records_.at(seen->second).status.spec) == to_json(spec);
  return Submission{same ? Submission::Outcome::Replayed : Submission::Outcome::KeyReused, seen->second};
}

std::optional<HandoffStatus> HandoffQueue::status(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto found = records_.find(id);
  if (found == records_.end()) return std::nullopt;
  return found->second.status;
}

std::vector<HandoffStatus> HandoffQueue::recent(size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<HandoffStatus> all;
  for (const auto& [id, record] : records_) all.push_back(record.status);
  std::sort(all.begin(), all.end(), [](const HandoffStatus& a, const HandoffStatus& b) { return a.created > b.created; });
  if (all.size() > limit) all.resize(limit);
  return all;
}

bool HandoffQueue::events_after(const std::string& id, uint64_t after, std::chrono::milliseconds wait,
                                std::vector<HandoffEvent>& out, bool& ended) const {
  std::unique_lock lock(mutex_);
  auto has_news = [&] {
    auto found = records_.find(id);
    return found == records_.end() || found->second.ended ||
           (!found->second.events.empty() && found->second.events.back().id > after);
  };
  changed_.wait_for(lock, wait, has_news);
  auto found = records_.find(id);
  if (found == records_.end()) return false;
  for (const HandoffEvent& event : found->second.events)
    if (event.id > after) out.push_back(event);
  ended = found->second.ended;
  return true;
}

std::optional<std::string> HandoffQueue::holder_of(const std::string& container_key) const {
  std::lock_guard lock(mutex_);
  auto found = busy_.find(container_key);
  if (found == busy_.end()) return std::nullopt;
  return found->second;
}

HandoffQueue::Claim::~Claim() {
  if (queue_ == nullptr) return;
  std::lock_guard lock(queue_->mutex_);
  queue_->busy_.erase(key_);
  queue_->changed_.notify_all();
}

Result<HandoffQueue::Claim> HandoffQueue::claim(const std::string& container_key, const std::string& holder) {
  std::lock_guard lock(mutex_);
  if (auto found = busy_.find(container_key); found != busy_.end())
    return make_error(ErrorCode::Conflict, "container `" + container_key.substr(0, 12) + "` is busy with " + found->second,
                      "wait until it ends: GET /v1/handoffs/" + found->second);
  busy_[container_key] = holder;
  return Claim(*this, container_key);
}

size_t HandoffQueue::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

size_t HandoffQueue::queued() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

void HandoffQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (const std::string& id : waiting_) {
      Record& record = records_.at(id);
      migrate::MigrationOutcome outcome;
      outcome.status = make_error(ErrorCode::Interrupted, "the agent stopped before this handoff started",
                                  "nothing was moved; ask again once the agent runs");
      outcome.report.container = record.status.spec.container;
      outcome.report.destination = record.status.spec.destination;
      finish(record, outcome);
    }
    waiting_.clear();
    changed_.notify_all();
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void HandoffQueue::work() {
  while (true) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping, and nothing is left to start
      id = waiting_.front();
      waiting_.pop_front();
      ++running_;
    }
    run_one(id);
  }
}

void HandoffQueue::run_one(const std::string& id) {
  HandoffSpec spec;
  {
    std::lock_guard lock(mutex_);
    Record& record = records_.at(id);
    record.status.state = HandoffState::Running;
    record.status.started = SystemClock::now();
    record.status.phase = "plan";
    spec = record.status.spec;
    add_event(record, "state", {{"state", "running"}});
  }
  Feed feed(*this, id);
  migrate::MigrationOutcome outcome;
  // The thread's entry point: nothing may escape it (std::terminate would take the agent).
  try {
    outcome = runner_(spec, feed);
  } catch (const std::exception& e) {
    outcome.status = make_error(ErrorCode::Internal, std::string("internal error: ") + e.what());
  } catch (...) {
    outcome.status = make_error(ErrorCode::Internal, "internal error: an exception of an unknown type");
  }
  std::lock_guard lock(mutex_);
  finish(records_.at(id), outcome);
  --running_;
  forget_old();
}

void HandoffQueue::add_event(Record& record, std::string name, json data) {
  bool essential = name != "progress";
  if (!essential && record.events.size() >= kMaxEventsPerHandoff) return;
  uint64_t id = record.events.empty() ? 1 : record.events.back().id + 1;
  record.events.push_back({id, std::move(name), std::move(data)});
  changed_.notify_all();
}

void HandoffQueue::finish(Record& record, const migrate::MigrationOutcome& outcome) {
  HandoffStatus& status = record.status;
  status.finished = SystemClock::now();
  status.report = outcome.report;
  status.needs_attention = outcome.needs_attention;
  if (outcome.status) {
    status.state = HandoffState::Succeeded;
  } else {
    status.state = outcome.report.rolled_back ? HandoffState::RolledBack : HandoffState::Failed;
    status.reason = outcome.status.error().message;
    if (!outcome.status.error().hint.empty()) status.reason += " (hint: " + outcome.status.error().hint + ")";
  }
  json end = {{"state", state_text(status)}, {"report", to_json(*status.report)}};
  if (!status.reason.empty()) end["reason"] = status.reason;
  if (status.needs_attention) end["needs_attention"] = true;
  add_event(record, "end", std::move(end));
  record.ended = true;
  if (auto holder = busy_.find(record.container_key); holder != busy_.end() && holder->second == status.id)
    busy_.erase(holder);
  ended_order_.push_back(status.id);
  changed_.notify_all();
}

void HandoffQueue::forget_old() {
  while (ended_order_.size() > limits_.kept) {
    auto found = records_.find(ended_order_.front());
    ended_order_.pop_front();
    if (found == records_.end()) continue;
    if (!found->second.idempotency.empty()) idempotency_.erase(found->second.idempotency);
    records_.erase(found);
  }
}

}  // namespace dockmig::agent
