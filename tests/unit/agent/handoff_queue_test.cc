// The queue's rules without Docker: the runner is a fake that reports phases and waits
// until the test lets it finish.
#include "agent/handoff_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace dockmig::agent {
namespace {

using std::chrono::milliseconds;
using Outcome = Submission::Outcome;

/// A runner whose handoffs go through every phase, then wait for release(container).
class FakeMigrations {
 public:
  HandoffQueue::Runner runner() {
    return [this](const HandoffSpec& spec, migrate::Progress& progress) {
      {
        std::lock_guard lock(mutex_);
        ++running_;
        max_running_ = std::max(max_running_, running_);
        started_.push_back(spec.container);
      }
      changed_.notify_all();
      for (const char* phase : kPhaseNames) {
        progress.phase_started(phase);
        progress.bytes_moved(phase, 10);
        progress.phase_finished(PhaseReport{phase, 0.1, 100, 10});
      }
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return released_.count(spec.container) > 0; });
      --running_;
      migrate::MigrationOutcome outcome;
      outcome.report.container = spec.container;
      if (spec.container == "rolls-back") {
        outcome.status = make_error(ErrorCode::Network, "the destination vanished");
        outcome.report.rolled_back = true;
      }
      return outcome;
    };
  }
  void release(const std::string& container) {
    { std::lock_guard lock(mutex_); released_.insert(container); }
    changed_.notify_all();
  }
  bool wait_started(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return started_.size() >= count; });
  }
  int max_running() {
    std::lock_guard lock(mutex_);
    return max_running_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> released_;
  std::vector<std::string> started_;
  int running_ = 0;
  int max_running_ = 0;
};

HandoffSpec spec_for(const std::string& container, const std::string& destination = "10.0.0.2:7070") {
  return HandoffSpec{container, destination, {}, {}};
}

/// Waits until handoff `id` ended and returns its final status.
HandoffStatus wait_end(HandoffQueue& queue, const std::string& id) {
  uint64_t after = 0;
  bool ended = false;
  for (int i = 0; i < 50 && !ended; ++i) {
    std::vector<HandoffEvent> events;
    EXPECT_TRUE(queue.events_after(id, after, milliseconds(100), events, ended));
    if (!events.empty()) after = events.back().id;
  }
  EXPECT_TRUE(ended);
  return *queue.status(id);
}

TEST(HandoffQueue, RetryWithTheSameKeyGetsTheSameHandoff) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {});
  Submission first = queue.submit(spec_for("web1"), "id-web1", "gw", "key-1");
  ASSERT_EQ(first.outcome, Outcome::Accepted);
  Submission retry = queue.submit(spec_for("web1"), "id-web1", "gw", "key-1");
  EXPECT_EQ(retry.outcome, Outcome::Replayed);
  EXPECT_EQ(retry.id, first.id);
  std::optional<Submission> looked_up = queue.replay_of(spec_for("web1"), "gw", "key-1");
  ASSERT_TRUE(looked_up);
  EXPECT_EQ(looked_up->id, first.id);
  fake.release("web1");
  wait_end(queue, first.id);
  // After the end too: the container is gone from here, the answer stays the same.
  EXPECT_EQ(queue.replay_of(spec_for("web1"), "gw", "key-1")->id, first.id);
}

TEST(HandoffQueue, AKeyReusedForAnotherRequestOrByAnotherCallerIsNotAReplay) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {});
  Submission first = queue.submit(spec_for("web1"), "id-web1", "gw", "key-1");
  EXPECT_EQ(queue.submit(spec_for("web1", "10.0.0.3:7070"), "id-web1", "gw", "key-1").outcome, Outcome::KeyReused);
  // Another gateway's key is its own: its request for the busy container is a conflict.
  Submission other = queue.submit(spec_for("web1"), "id-web1", "gw2", "key-1");
  EXPECT_EQ(other.outcome, Outcome::ContainerBusy);
  EXPECT_EQ(other.id, first.id);
  fake.release("web1");
}

TEST(HandoffQueue, ASecondHandoffOfTheSameContainerIsBusyWithTheFirstsId) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {});
  Submission first = queue.submit(spec_for("web1"), "id-web1", "gw", "");
  ASSERT_EQ(first.outcome, Outcome::Accepted);
  ASSERT_TRUE(fake.wait_started(1));
  // By another name (its id): the same container key, so still busy.
  Submission second = queue.submit(spec_for("0123456789ab"), "id-web1", "gw", "");
  EXPECT_EQ(second.outcome, Outcome::ContainerBusy);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(queue.holder_of("id-web1"), first.id);
  fake.release("web1");
  EXPECT_EQ(wait_end(queue, first.id).state, HandoffState::Succeeded);
  EXPECT_FALSE(queue.holder_of("id-web1"));
  EXPECT_EQ(queue.submit(spec_for("web1"), "id-web1", "gw", "").outcome, Outcome::Accepted);
  fake.release("web1");
}

TEST(HandoffQueue, RunsAtMostTheLimitAtOnceAndQueuesTheRestInOrder) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {2, 1, 256});
  std::string a = queue.submit(spec_for("a"), "a", "gw", "").id;
  ASSERT_TRUE(fake.wait_started(1));  // else `a` still waits, and fills the queue of one
  std::string b = queue.submit(spec_for("b"), "b", "gw", "").id;
  ASSERT_TRUE(fake.wait_started(2));
  std::string c = queue.submit(spec_for("c"), "c", "gw", "").id;
  EXPECT_EQ(queue.status(c)->state, HandoffState::Queued);
  EXPECT_EQ(state_text(*queue.status(c)), "queued");
  EXPECT_EQ(queue.submit(spec_for("d"), "d", "gw", "").outcome, Outcome::QueueFull);
  fake.release("a");
  ASSERT_TRUE(fake.wait_started(3));
  fake.release("b");
  fake.release("c");
  for (const std::string& id : {a, b, c}) EXPECT_EQ(wait_end(queue, id).state, HandoffState::Succeeded);
  EXPECT_EQ(fake.max_running(), 2);
}

TEST(HandoffQueue, EventsShowEveryPhaseInOrderThenTheEnd) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {});
  std::string id = queue.submit(spec_for("web1"), "id-web1", "gw", "").id;
  fake.release("web1");
  wait_end(queue, id);
  std::vector<HandoffEvent> events;
  bool ended = false;
  ASSERT_TRUE(queue.events_after(id, 0, milliseconds(0), events, ended));
  EXPECT_TRUE(ended);
  std::vector<std::string> started;
  for (const HandoffEvent& event : events)
    if (event.name == "phase-started") started.push_back(event.data["phase"]);
  EXPECT_EQ(started, std::vector<std::string>(std::begin(kPhaseNames), std::end(kPhaseNames)));
  EXPECT_EQ(events.front().name, "state");
  EXPECT_EQ(events.back().name, "end");
  EXPECT_EQ(events.back().data["state"], "succeeded");
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].id, i + 1);
  // A client resuming after event 3 gets the rest only.
  std::vector<HandoffEvent> rest;
  ASSERT_TRUE(queue.events_after(id, 3, milliseconds(0), rest, ended));
  EXPECT_EQ(rest.size(), events.size() - 3);
}

TEST(HandoffQueue, AFailureAfterTheFreezeIsRolledBackWithItsReason) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {});
  std::string id = queue.submit(spec_for("rolls-back"), "rb", "gw", "").id;
  fake.release("rolls-back");
  HandoffStatus status = wait_end(queue, id);
  EXPECT_EQ(state_text(status), "rolled_back");
  EXPECT_NE(status.reason.find("the destination vanished"), std::string::npos);
  nlohmann::json shown = to_json(status);
  EXPECT_EQ(shown["state"], "rolled_back");
  EXPECT_TRUE(shown["report"]["rolled_back"].get<bool>());
}

TEST(HandoffQueue, AClaimHoldsTheContainerAgainstHandoffs) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {});
  {
    Result<HandoffQueue::Claim> claim = queue.claim("id-web1", "prepare-1");
    ASSERT_TRUE(claim);
    Submission refused = queue.submit(spec_for("web1"), "id-web1", "gw", "");
    EXPECT_EQ(refused.outcome, Outcome::ContainerBusy);
    EXPECT_EQ(refused.id, "prepare-1");
    EXPECT_FALSE(queue.claim("id-web1", "prepare-2"));
  }
  EXPECT_EQ(queue.submit(spec_for("web1"), "id-web1", "gw", "").outcome, Outcome::Accepted);
  fake.release("web1");
}

TEST(HandoffQueue, ShutdownFailsWhatWaitsAndLetsWhatRunsFinish) {
  FakeMigrations fake;
  auto queue = std::make_unique<HandoffQueue>(fake.runner(), HandoffQueue::Limits{1, 8, 256});
  std::string running = queue->submit(spec_for("a"), "a", "gw", "").id;
  ASSERT_TRUE(fake.wait_started(1));
  std::string waiting = queue->submit(spec_for("b"), "b", "gw", "").id;
  std::thread stopper([&] { queue->shutdown(); });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(queue->status(waiting)->state, HandoffState::Failed);
  EXPECT_EQ(queue->submit(spec_for("c"), "c", "gw", "").outcome, Outcome::Stopping);
  fake.release("a");
  stopper.join();
  EXPECT_EQ(queue->status(running)->state, HandoffState::Succeeded);
}

TEST(HandoffQueue, ForgetsTheOldestEndedHandoffsBeyondTheLimit) {
  FakeMigrations fake;
  HandoffQueue queue(fake.runner(), {1, 8, 2});
  std::vector<std::string> ids;
  for (const char* name : {"a", "b", "c"}) {
    fake.release(name);
    ids.push_back(queue.submit(spec_for(name), name, "gw", std::string("key-") + name).id);
    wait_end(queue, ids.back());
  }
  EXPECT_FALSE(queue.status(ids[0]));
  EXPECT_TRUE(queue.status(ids[2]));
  EXPECT_FALSE(queue.replay_of(spec_for("a"), "gw", "key-a"));
}

}  // namespace
}  // namespace dockmig::agent
