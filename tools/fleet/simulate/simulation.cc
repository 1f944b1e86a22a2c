#include "simulation.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <latch>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "etcd/client.h"
#include "etcd_metrics.h"
#include "fleet/etcd_ownership.h"
#include "fleet/handoff_route.h"
#include "fleet/membership.h"
#include "fleet/service_record.h"
#include "migrate/ownership.h"
#include "sim_world.h"

namespace dockmig::fleetsim {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A fixed set of threads taking tasks in order; wait() returns when all are done.
class TaskPool {
 public:
  explicit TaskPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this](std::stop_token stop) { work(stop); });
  }
  ~TaskPool() {
    for (std::jthread& thread : threads_) thread.request_stop();
    ready_.notify_all();
  }
  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
      ++pending_;
    }
    ready_.notify_one();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  void work(std::stop_token stop) {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, stop, [this] { return !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable_any ready_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  size_t pending_ = 0;
  std::vector<std::jthread> threads_;
};

// Milliseconds, kept to give percentiles.
class Samples {
 public:
  void add(double ms) {
    std::lock_guard lock(mutex_);
    values_.push_back(ms);
  }
  json summary() const {
    std::lock_guard lock(mutex_);
    std::vector<double> sorted = values_;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double share) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(share * sorted.size()))]; };
    if (sorted.empty()) return json{{"count", 0}};
    return json{{"count", sorted.size()}, {"p50", at(0.5)}, {"p90", at(0.9)}, {"p99", at(0.99)}, {"max", sorted.back()}};
  }

 private:
  mutable std::mutex mutex_;
  std::vector<double> values_;
};

// How a handoff ended. Every one must end decided: Undecided and Failed fail the run.
// An etcd error before the freeze (routing, claim) refuses the handoff with nothing moved.
enum class Outcome { Committed, CommittedByRecord, RolledBack, Refused, RefusedByEtcdError, Undecided, Failed, Skipped };
constexpr const char* kOutcomeNames[] = {"committed", "committed_decided_by_record", "rolled_back", "refused",
                                         "refused_etcd_error_before_freeze", "undecided", "failed", "skipped_busy"};

// One attempt of a destination to take a service over.
struct Swap {
  size_t destination = 0;
  Result<int64_t> revision = int64_t{0};
};

class Simulation {
 public:
  Simulation(const Options& options, etcd::Client etcd)
      : options_(options), etcd_(std::move(etcd)), copies_(options.hosts, options.services, double_owners_),
        ledger_(double_owners_), history_(forks_) {}
  ~Simulation() { stop_watch(); }

  Result<json> run();

 private:
  std::string host_name(size_t host) const;
  std::string service_name(size_t service) const;
  std::string services_prefix() const { return std::string(fleet::kServicesPrefix) + options_.tag + "-s"; }
  size_t host_index(const std::string& name) const;
  fleet::HostRecord describe(size_t host) const;

  Status join_hosts();
  Status place_services();
  Result<int64_t> current_revision() const;
  void start_watch(int64_t from_revision);
  void stop_watch();
  Result<json> measure_idle();
  json run_handoffs();
  void handoff(uint64_t number);
  Outcome handoff_of(size_t service, uint64_t number, std::mt19937_64& random);
  std::vector<Swap> take_over(size_t service, size_t source, int64_t revision, const std::vector<size_t>& to,
                              const std::string& migration);
  std::optional<size_t> restore_where_won(size_t service, size_t source, int64_t claimed, std::vector<Swap>& swaps,
                                          const std::string& migration, std::mt19937_64& random);
  Outcome decide_at_source(size_t service, size_t source, std::optional<size_t> winner, bool heard);
  void note(Outcome outcome, const std::string& what);
  Outcome failed(const std::string& what) { return note(Outcome::Failed, what), Outcome::Failed; }
  Outcome refused_by_etcd(const std::string& what);
  std::optional<size_t> settle_unanswered_swap(size_t service, size_t destination, const std::string& migration,
                                               const Error& error);
  json check_end();
  Status remove_records() const;
  Result<Metrics> metrics() const { return read_metrics(etcd_.endpoints().front()); }

  const Options& options_;
  etcd::Client etcd_;
  Findings double_owners_, forks_, failures_;
  Copies copies_;
  SwapLedger ledger_;
  HistoryCheck history_;
  std::vector<std::unique_ptr<fleet::Membership>> members_;
  std::vector<std::unique_ptr<fleet::EtcdOwnership>> ownership_;
  std::jthread watcher_;
  std::mutex outcomes_mutex_;
  std::array<size_t, std::size(kOutcomeNames)> outcomes_{};
  std::atomic<size_t> races_{0}, lost_swaps_{0}, stale_refused_{0}, unanswered_swaps_{0};
  std::vector<std::string> etcd_errors_;  // the first few that refused a handoff before its freeze
  Samples commit_ms_, handoff_ms_, start_lag_ms_;
};

std::string Simulation::host_name(size_t host) const {
  char text[16];
  std::snprintf(text, sizeof text, "h%05zu", host);
  return options_.tag + "-" + text;
}

std::string Simulation::service_name(size_t service) const {
  char text[16];
  std::snprintf(text, sizeof text, "s%06zu", service);
  return options_.tag + "-" + text;
}

size_t Simulation::host_index(const std::string& name) const {
  return std::stoul(name.substr(options_.tag.size() + 2));
}

// What an agent would say of its host, its containers from the table of copies.
fleet::HostRecord Simulation::describe(size_t host) const {
  fleet::HostRecord record;
  record.name = host_name(host);
  record.agent_address = "10." + std::to_string(host / 250) + "." + std::to_string(host % 250) + ".1:7070";
  record.api_address = "10." + std::to_string(host / 250) + "." + std::to_string(host % 250) + ".1:7443";
  record.docker_version = "28.5.0";
  record.criu_version = "4.1";
  record.staging_free_bytes = 50'000'000'000ull - host;
  for (const char* image : {"app", "cache", "proxy"})
    record.images.push_back(std::string("registry.example:5000/") + image + "@sha256:" + std::string(64, 'a'));
  for (size_t service : copies_.containers_of(host)) record.containers.push_back(service_name(service));
  std::sort(record.containers.begin(), record.containers.end());
  return record;
}

Status Simulation::join_hosts() {
  for (size_t host = 0; host < options_.hosts; ++host) {
    ownership_.push_back(std::make_unique<fleet::EtcdOwnership>(etcd_, host_name(host)));
    Result<std::unique_ptr<fleet::Membership>> member = fleet::Membership::join(
        etcd_, [this, host]() -> Result<fleet::HostRecord> { return describe(host); }, options_.ttl);
    if (!member) return std::move(member.error()).wrap(host_name(host));
    members_.push_back(std::move(*member));
  }
  return {};
}

// Each service starts on one host, which claims it (the record is created, as a first
// handoff's claim does).
Status Simulation::place_services() {
  TaskPool pool(options_.workers);
  for (size_t service = 0; service < options_.services; ++service) {
    pool.submit([this, service] {
      size_t host = service % options_.hosts;
      copies_.start(service, host);
      Result<int64_t> claimed = ownership_[host]->claim(service_name(service), "placed");
      if (!claimed) failures_.add("placing " + service_name(service) + ": " + claimed.error().message);
    });
  }
  pool.wait();
  if (failures_.count() != 0) return make_error(ErrorCode::ToolFailed, "placing the services: " + failures_.first().front());
  return {};
}

Result<int64_t> Simulation::current_revision() const {
  Result<json> answer = etcd_.call("/v3/kv/range", etcd::range_request(services_prefix()));
  if (!answer) return std::move(answer.error());
  return std::stoll((*answer)["header"].value("revision", std::string("0")));
}

void Simulation::start_watch(int64_t from_revision) {
  watcher_ = std::jthread([this, from_revision](std::stop_token stop) {
    Status watched = etcd_.watch_prefix(
        services_prefix(), from_revision,
        [this](const std::vector<etcd::WatchEvent>& events) {
          history_.take(events);
          return true;
        },
        stop);
    if (!watched) failures_.add("the watch of the records ended: " + watched.error().message);
  });
}

void Simulation::stop_watch() {
  if (!watcher_.joinable()) return;
  watcher_.request_stop();
  watcher_.join();
}

Result<json> Simulation::measure_idle() {
  Result<Metrics> before = metrics();
  if (!before) return std::move(before.error());
  auto start = Clock::now();
  std::this_thread::sleep_for(options_.idle);
  Result<Metrics> after = metrics();
  if (!after) return std::move(after.error());
  double seconds = ms_since(start) / 1000;
  json rates = json::object();
  for (const auto& [name, change] : difference(*after, *before))
    if (name.starts_with("requests.") && change != 0) rates[name.substr(9)] = change / seconds;
  return json{{"seconds", seconds}, {"requests_per_second", rates}, {"keys", (*after)["etcd_debugging_mvcc_keys_total"]},
              {"db_size_bytes", (*after)["etcd_mvcc_db_total_size_in_bytes"]}};
}

void Simulation::note(Outcome outcome, const std::string& what) {
  if (outcome == Outcome::Undecided || outcome == Outcome::Failed) failures_.add(what);
  std::lock_guard lock(outcomes_mutex_);
  ++outcomes_[static_cast<size_t>(outcome)];
}

void Simulation::handoff(uint64_t number) {
  std::mt19937_64 random(options_.seed * 1'000'003 + number);
  for (int attempt = 0; attempt < 20; ++attempt) {
    size_t service = random() % options_.services;
    if (!copies_.reserve(service)) continue;
    auto start = Clock::now();
    Outcome outcome = handoff_of(service, number, random);
    handoff_ms_.add(ms_since(start));
    copies_.release(service);
    if (outcome != Outcome::Undecided && outcome != Outcome::Failed) note(outcome, "");
    return;
  }
  note(Outcome::Skipped, "");
}

// One handoff as the gateway, the source and the destination(s) make it, with the same
// fleet calls and in the same order; see docs/fleet.md, "The commit rule".
Outcome Simulation::handoff_of(size_t service, uint64_t number, std::mt19937_64& random) {
  std::uniform_real_distribution<double> share(0, 1);
  std::string name = service_name(service), migration = "sim-" + std::to_string(number);
  int running = copies_.running_at(service);
  if (running < 0) return failed(name + ": no copy runs anywhere before its handoff");
  auto other_host = [&](std::vector<size_t> not_these) {
    for (;;) {
      size_t host = random() % options_.hosts;
      if (std::find(not_these.begin(), not_these.end(), host) == not_these.end()) return host;
    }
  };
  std::vector<size_t> destinations{other_host({static_cast<size_t>(running)})};
  size_t source = static_cast<size_t>(running);
  if (options_.route) {
    Result<fleet::HandoffRoute> route = fleet::route_handoff(etcd_, name, host_name(destinations[0]));
    if (!route) return refused_by_etcd(migration + ": routing: " + route.error().message);
    source = host_index(route->source.name);
  }
  bool stale = share(random) < options_.stale_share;
  if (stale) source = other_host({source});
  Result<int64_t> claimed = ownership_[source]->claim(name, migration);
  if (!claimed && stale && claimed.error().code == ErrorCode::Conflict) {
    ++stale_refused_;
    return Outcome::Refused;
  }
  if (!claimed && claimed.error().code != ErrorCode::Conflict)
    return refused_by_etcd(migration + ": claim: " + claimed.error().message);
  if (!claimed) return failed(migration + ": claim: " + claimed.error().message);
  if (stale) return failed(migration + ": " + host_name(source) + ", which the record does not name, claimed " + name);
  if (share(random) < options_.race_share) {
    destinations.push_back(other_host({source, destinations[0]}));
    ++races_;
  }
  copies_.stop(service, source);  // the freeze: from here the source's copy does not run
  std::vector<Swap> swaps = take_over(service, source, *claimed, destinations, migration);
  std::optional<size_t> winner = restore_where_won(service, source, *claimed, swaps, migration, random);
  return decide_at_source(service, source, winner, share(random) >= options_.lost_reply_share);
}

// Each destination after its swap: it restores only when the swap succeeded (unless its
// restore fails: then it hands the record back); a lost swap leaves nothing; a swap
// without an answer is settled by the record. The destination that runs the copy, if any.
std::optional<size_t> Simulation::restore_where_won(size_t service, size_t source, int64_t claimed,
                                                    std::vector<Swap>& swaps, const std::string& migration,
                                                    std::mt19937_64& random) {
  std::uniform_real_distribution<double> share(0, 1);
  std::string name = service_name(service);
  std::optional<size_t> winner;
  for (Swap& swap : swaps) {
    if (!swap.revision && swap.revision.error().code != ErrorCode::Conflict) {
      if (std::optional<size_t> started = settle_unanswered_swap(service, swap.destination, migration, swap.revision.error()))
        winner = started;
      continue;
    }
    if (!swap.revision) {
      ++lost_swaps_;
      if (options_.restore_after_lost_swap) copies_.start(service, swap.destination);
      continue;
    }
    ledger_.record(fleet::service_key(name), claimed, *swap.revision, host_name(swap.destination));
    if (share(random) < options_.restore_fail_share) {
      Status back = ownership_[swap.destination]->hand_back(name, host_name(source), *swap.revision, migration);
      if (!back) failures_.add(migration + ": hand back: " + back.error().message);
      continue;
    }
    copies_.start(service, swap.destination);  // the restore, only after the swap succeeded
    winner = swap.destination;
  }
  return winner;
}

Outcome Simulation::refused_by_etcd(const std::string& what) {
  std::lock_guard lock(outcomes_mutex_);
  if (etcd_errors_.size() < 5) etcd_errors_.push_back(what);
  return Outcome::RefusedByEtcdError;
}

// A swap without an answer (etcd timed out) may have been made: the destination keeps its
// staged copy in doubt and, as at its next start, lets the record decide.
std::optional<size_t> Simulation::settle_unanswered_swap(size_t service, size_t destination,
                                                         const std::string& migration, const Error& error) {
  ++unanswered_swaps_;
  Result<std::string> owner = ownership_[destination]->owner(service_name(service));
  std::optional<std::string> named = owner ? std::optional<std::string>(*owner) : std::nullopt;
  switch (migrate::decide_reconcile(named, host_name(destination))) {
    case migrate::ReconcileDecision::KeepOrStart:
      copies_.start(service, destination);
      return destination;
    case migrate::ReconcileDecision::Remove:
      return std::nullopt;
    case migrate::ReconcileDecision::Undecided:
      break;
  }
  failures_.add(migration + ": swap unanswered (" + error.message + ") and the record unreadable");
  return std::nullopt;
}

// The destinations' swaps from the claimed revision, all at once when there are several.
std::vector<Swap> Simulation::take_over(size_t service, size_t source, int64_t revision,
                                        const std::vector<size_t>& to, const std::string& migration) {
  std::latch together(static_cast<ptrdiff_t>(to.size()));
  auto swap = [&](size_t destination) {
    together.arrive_and_wait();
    auto start = Clock::now();
    Swap made{destination, ownership_[destination]->take_over(service_name(service), host_name(source), revision, migration)};
    commit_ms_.add(ms_since(start));
    return made;
  };
  std::vector<std::future<Swap>> others;
  for (size_t i = 1; i < to.size(); ++i) others.push_back(std::async(std::launch::async, swap, to[i]));
  std::vector<Swap> swaps{swap(to[0])};
  for (std::future<Swap>& other : others) swaps.push_back(other.get());
  return swaps;
}

// The source hears `committed` from the winner, or (no winner, or the reply lost) decides
// by the record as the real source does: it resumes only once it fenced the record naming
// it. Not kept, the record is read again to check whom it names.
Outcome Simulation::decide_at_source(size_t service, size_t source, std::optional<size_t> winner, bool heard) {
  if (winner && heard) return Outcome::Committed;
  Result<int64_t> kept = ownership_[source]->keep(service_name(service));
  if (migrate::decide_rollback(kept) == migrate::RollbackDecision::Resume) {
    copies_.start(service, source);
    return winner ? failed(service_name(service) + ": the source resumed after a swap won") : Outcome::RolledBack;
  }
  Result<std::string> owner = ownership_[source]->owner(service_name(service));
  std::optional<std::string> named = owner ? std::optional<std::string>(*owner) : std::nullopt;
  if (winner && named == host_name(*winner)) return Outcome::CommittedByRecord;
  std::string what = service_name(service) + ": the source stays checkpointed and the record names " +
                     (named ? "`" + *named + "`" : "nothing readable");
  note(Outcome::Undecided, what);
  return Outcome::Undecided;
}

json Simulation::run_handoffs() {
  TaskPool pool(options_.workers);
  auto start = Clock::now();
  auto end = start + options_.duration;
  auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / options_.rate));
  uint64_t started = 0;
  for (auto planned = start; planned < end; planned += interval, ++started) {
    std::this_thread::sleep_until(planned);
    pool.submit([this, planned, started] {
      start_lag_ms_.add(std::chrono::duration<double, std::milli>(Clock::now() - planned).count());
      handoff(started);
    });
  }
  pool.wait();
  double seconds = ms_since(start) / 1000;
  json outcomes = json::object();
  for (size_t i = 0; i < outcomes_.size(); ++i) outcomes[kOutcomeNames[i]] = outcomes_[i];
  return json{{"planned_rate", options_.rate},     {"started", started},
              {"seconds", seconds},                {"achieved_rate", started / seconds},
              {"outcomes", outcomes},              {"races", races_.load()},
              {"swaps_lost", lost_swaps_.load()},  {"stale_sources_refused", stale_refused_.load()},
              {"swaps_won", ledger_.size()},       {"swaps_unanswered", unanswered_swaps_.load()},
              {"etcd_errors_before_freeze", etcd_errors_}, {"start_lag_ms", start_lag_ms_.summary()}};
}

// At the end: every record names the one host that runs its service, every swap that won
// is in the watched history, and the watch saw the records' whole history as one line.
json Simulation::check_end() {
  Result<std::vector<etcd::KeyValue>> records = etcd_.get_prefix(services_prefix());
  if (!records) return failures_.add("reading the records at the end: " + records.error().message), json{};
  int64_t last = 0;
  for (const etcd::KeyValue& kv : *records) last = std::max(last, kv.mod_revision);
  for (auto deadline = Clock::now() + std::chrono::seconds(30); history_.last_revision() < last && Clock::now() < deadline;)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop_watch();
  size_t mismatched = 0;
  for (const etcd::KeyValue& kv : *records) {
    Result<fleet::ServiceRecord> record = fleet::decode_service_record(kv.value);
    int running = copies_.running_at(std::stoul(kv.key.substr(services_prefix().size())));
    if (record && running >= 0 && record->host == host_name(running)) continue;
    ++mismatched;
    double_owners_.add(kv.key + ": the record names " + (record ? record->host : "?") + ", the copy runs at " +
                       (running >= 0 ? host_name(running) : "no host"));
  }
  std::map<std::pair<std::string, int64_t>, std::string> seen = history_.seen();
  size_t unseen = 0;
  for (const auto& [at, host] : ledger_.written()) {
    auto found = seen.find(at);
    if (found == seen.end() || found->second != host) ++unseen;
  }
  if (unseen != 0) forks_.add(std::to_string(unseen) + " winning swaps are not in the watched history as written");
  return json{{"records", records->size()}, {"records_not_naming_the_running_copy", mismatched},
              {"winning_swaps_missing_from_history", unseen}, {"watch_events", history_.events()}};
}

Status Simulation::remove_records() const {
  json body{{"key", etcd::base64_encode(services_prefix())},
            {"range_end", etcd::base64_encode(etcd::prefix_range_end(services_prefix()))}};
  Result<json> removed = etcd_.call("/v3/kv/deleterange", body);
  if (!removed) return std::move(removed.error());
  return {};
}

json per_handoff(const Metrics& change, const json& idle, double seconds, double handoffs) {
  json requests = json::object();
  for (const auto& [name, count] : change) {
    // Keep-alives run on their own clock, slower when the machine is loaded: a rate, not a
    // share of the handoffs.
    if (!name.starts_with("requests.") || name == "requests.LeaseKeepAlive") continue;
    std::string method = name.substr(9);
    double background = idle["requests_per_second"].value(method, 0.0) * seconds;
    if (count != 0) requests[method] = (count - background) / handoffs;
  }
  return requests;
}

Result<json> Simulation::run() {
  json report{{"hosts", options_.hosts}, {"services", options_.services}, {"lease_ttl_seconds", options_.ttl.count()},
              {"hardware_threads", std::thread::hardware_concurrency()}};
  auto start = Clock::now();
  if (Status joined = join_hosts(); !joined) return std::move(joined.error()).wrap("joining the hosts");
  report["join_seconds"] = ms_since(start) / 1000;
  Result<int64_t> revision = current_revision();
  if (!revision) return std::move(revision.error());
  start_watch(*revision + 1);
  start = Clock::now();
  if (Status placed = place_services(); !placed) return std::move(placed.error());
  report["placement_seconds"] = ms_since(start) / 1000;
  std::this_thread::sleep_for(std::chrono::milliseconds(options_.ttl) / 3 + std::chrono::seconds(1));
  Result<json> idle = measure_idle();
  if (!idle) return std::move(idle.error());
  report["idle"] = *idle;
  Result<Metrics> before = metrics();
  if (!before) return std::move(before.error());
  auto handoffs_start = Clock::now();
  report["handoffs"] = run_handoffs();
  report["commit_ms"] = commit_ms_.summary();
  report["handoff_etcd_ms"] = handoff_ms_.summary();
  // The hosts rewrite their records at their next renewal: wait for it, then count.
  std::this_thread::sleep_for(std::chrono::milliseconds(options_.ttl) / 3 + std::chrono::seconds(1));
  Result<Metrics> after = metrics();
  if (!after) return std::move(after.error());
  double seconds = ms_since(handoffs_start) / 1000;
  double handoffs = std::max<double>(1, report["handoffs"]["started"].get<double>());
  Metrics change = difference(*after, *before);
  double keep_alives = change["requests.LeaseKeepAlive"];
  report["keep_alives_per_second_during_handoffs"] = keep_alives / seconds;
  report["per_handoff"] = {
      {"requests", per_handoff(change, *idle, seconds, handoffs)},
      {"revisions", change["etcd_debugging_mvcc_current_revision"] / handoffs},
      {"watch_events_per_watcher", 0},
      {"db_bytes", change["etcd_mvcc_db_total_size_in_bytes"] / handoffs}};
  report["etcd_after"] = {{"keys", (*after)["etcd_debugging_mvcc_keys_total"]},
                          {"db_size_bytes", (*after)["etcd_mvcc_db_total_size_in_bytes"]},
                          {"db_size_in_use_bytes", (*after)["etcd_mvcc_db_total_size_in_use_in_bytes"]},
                          {"revision", (*after)["etcd_debugging_mvcc_current_revision"]}};
  report["end"] = check_end();
  size_t handoff_events = history_.events() - options_.services;
  report["per_handoff"]["watch_events_per_watcher"] = static_cast<double>(handoff_events) / handoffs;
  report["double_owners"] = double_owners_.count();
  report["history_forks"] = forks_.count();
  report["failures"] = failures_.count();
  report["findings"] = double_owners_.first();
  for (const std::string& fork : forks_.first()) report["findings"].push_back(fork);
  for (const std::string& failure : failures_.first()) report["findings"].push_back(failure);
  const json& outcomes = report["handoffs"]["outcomes"];
  report["ok"] = double_owners_.count() == 0 && forks_.count() == 0 && failures_.count() == 0 &&
                 outcomes["undecided"] == 0 && outcomes["failed"] == 0;
  members_.clear();  // revokes the leases: the hosts leave
  if (!options_.keep) remove_records().ignore("a private etcd goes with its data dir");
  return report;
}

}  // namespace

Result<nlohmann::json> simulate(const Options& options) {
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd);
  if (!etcd) return std::move(etcd.error());
  Simulation simulation(options, std::move(*etcd));
  return simulation.run();
}

}  // namespace dockmig::fleetsim
