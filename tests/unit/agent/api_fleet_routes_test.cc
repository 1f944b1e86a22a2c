// The fleet's routes over real HTTP on loopback, with a fake fleet (no etcd): the source
// queues the handoff, any other agent answers 307 with the source's API, refusals by code.
#include <httplib.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/api_fleet_routes.h"
#include "agent/http_api.h"

namespace dockmig::agent {
namespace {

using nlohmann::json;
constexpr const char* kToken = "test-token-0123456789";

fleet::HostRecord host(const std::string& name, const std::string& address) {
  fleet::HostRecord record;
  record.name = name;
  record.agent_address = address + ":7070";
  record.api_address = address + ":8443";
  return record;
}

class FakeFleet : public FleetBackend {
 public:
  const std::string& self() const override { return self_; }
  Result<std::vector<fleet::HostRecord>> hosts() const override { return hosts_; }
  Result<fleet::ServiceLocation> service(const std::string& name) const override {
    if (name == "web1") return fleet::ServiceLocation{"web1", {"edge-a", "", ""}, 7, hosts_[0], true};
    if (name == "web9") return fleet::ServiceLocation{"web9", {"edge-b", "", ""}, 9, hosts_[1], true};
    return make_error(ErrorCode::NotFound, "the fleet has no service `" + name + "`");
  }
  Result<fleet::HandoffRoute> route(const std::string& name, const std::string& to) const override {
    Result<fleet::ServiceLocation> location = service(name);
    if (!location) return std::move(location.error());
    return fleet::route_between(*location, hosts_, to);
  }
  // web1 on edge-a as read (nothing after a revision), then each move() until the watch is
  // stopped. History before revision 5 is compacted away; the store is at revision 100.
  Status follow(const fleet::FollowRequest& request, const fleet::OwnershipHandler& on_changes,
                std::stop_token stop) const override {
    if (etcd_down) return make_error(ErrorCode::Network, "etcd at http://10.0.0.9:2379: connection refused");
    if (request.after_revision > 0 && request.after_revision < 5)
      return make_error(ErrorCode::Conflict, "revision " + std::to_string(request.after_revision) + " is compacted away");
    if (request.after_revision > 100) return make_error(ErrorCode::InvalidInput, "ahead of etcd's");
    ++following;
    if (fail_after_first_read) {
      on_changes({{"web1", "", "edge-a", 7, true}});
      --following;
      return make_error(ErrorCode::Network, "no etcd member served the watch");
    }
    if (request.after_revision > 0) on_changes({});
    else on_changes({{"web1", "", "edge-a", 7, true}});
    std::unique_lock lock(mutex_);
    while (moved_.wait(lock, stop, [&] { return !moves_.empty(); })) {
      std::vector<fleet::OwnershipChange> moves = std::move(moves_);
      moves_.clear();
      lock.unlock();
      on_changes(moves);
      lock.lock();
    }
    --following;
    return {};
  }
  void move(const fleet::OwnershipChange& change) {
    { std::lock_guard lock(mutex_); moves_.push_back(change); }
    moved_.notify_all();
  }

  bool etcd_down = false;
  bool fail_after_first_read = false;  // the etcd watch fails once the state is read
  mutable std::atomic<int> following{0};  // follows running

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable_any moved_;
  mutable std::vector<fleet::OwnershipChange> moves_;
  std::string self_ = "edge-a";
  std::vector<fleet::HostRecord> hosts_{host("edge-a", "10.0.0.1"), host("edge-b", "10.0.0.2")};
};

class NoDocker : public HostBackend {
 public:
  Result<std::string> resolve_container(const std::string& name) override { return "full-id-" + name; }
  Result<json> list_containers() override { return json{{"containers", json::array()}}; }
  Result<json> prepare(const PrepareSpec& spec) override {
    prepared_at = spec.destinations;
    json preparations = json::array();
    for (const std::string& destination : spec.destinations) preparations.push_back({{"destination", destination}});
    return spec.listed ? json{{"preparations", preparations}} : preparations.front();
  }
  std::vector<std::string> prepared_at;
};

class FleetRoutesTest : public ::testing::Test {
 protected:
  void start(const FleetBackend* fleet) {
    Result<std::vector<TokenEntry>> entries = parse_token_file(std::string("gateway-1 ") + kToken + "\n", "test");
    ASSERT_TRUE(entries);
    tokens_ = std::make_unique<TokenStore>(std::move(*entries));
    queue_ = std::make_unique<HandoffQueue>(
        [this](const HandoffSpec& spec, migrate::Progress&) {
          asked_destination_ = spec.destination;
          while (hold_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
          return migrate::MigrationOutcome{};
        },
        HandoffQueue::Limits{});
    ApiConfig config{"127.0.0.1:0", std::nullopt, tokens_.get(), fleet};
    config.metrics = &registry_;
    config.watch_metrics = &watch_metrics_;
    config.watch_heartbeat = heartbeat_;
    Result<std::unique_ptr<ApiServer>> api = ApiServer::start(config, *queue_, host_);
    ASSERT_TRUE(api) << api.error().describe();
    api_ = std::move(*api);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", api_->port());
  }
  void TearDown() override {
    if (api_) api_->stop();
    queue_.reset();
  }
  httplib::Result post(const std::string& body) {
    return client_->Post("/v1/fleet/handoff", {{"Authorization", std::string("Bearer ") + kToken}}, body,
                         "application/json");
  }
  httplib::Result prepare(const std::string& body) {
    return client_->Post("/v1/prepare", {{"Authorization", std::string("Bearer ") + kToken}}, body,
                         "application/json");
  }
  httplib::Result get(const std::string& path) {
    return client_->Get(path, {{"Authorization", std::string("Bearer ") + kToken}});
  }
  static json body_of(const httplib::Result& result) { return json::parse(result->body, nullptr, false); }

  // The count of watches open, once it is `open` (the stream's end is counted after the
  // client has its last byte).
  bool watches_open(double open) {
    for (int i = 0; i < 500 && registry_.value("dockmig_fleet_watches_open") != open; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return registry_.value("dockmig_fleet_watches_open") == open;
  }
  double watches_ended(const char* outcome) {
    return registry_.value("dockmig_fleet_watches_ended_total", {{"outcome", outcome}});
  }

  FakeFleet fleet_;
  NoDocker host_;
  metrics::Registry registry_;
  WatchMetrics watch_metrics_{registry_};
  std::chrono::milliseconds heartbeat_{std::chrono::seconds(15)};
  std::string asked_destination_;
  std::atomic<bool> hold_{false};  // the runner waits while set: a handoff in progress
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<HandoffQueue> queue_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FleetRoutesTest, TheSourceQueuesTheHandoffToTheHostsAgent) {
  start(&fleet_);
  httplib::Result result = post(R"({"service":"web1","to":"edge-b"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202) << result->body;
  std::string id = body_of(result)["id"];
  for (int i = 0; i < 200 && queue_->status(id)->state != HandoffState::Succeeded; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(queue_->status(id)->state, HandoffState::Succeeded);
  EXPECT_EQ(asked_destination_, "10.0.0.2:7070");
}

// Two gateways at once: the second is refused, told which handoff holds the service and
// to which host it goes.
TEST_F(FleetRoutesTest, ASecondHandoffWhileOneRunsIsRefusedNamingTheWinner) {
  hold_ = true;
  start(&fleet_);
  httplib::Result first = post(R"({"service":"web1","to":"edge-b"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  httplib::Result second = post(R"({"service":"web1","to":"edge-b","options":{"keep_source":true}})");
  hold_ = false;
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 409) << second->body;
  json refusal = body_of(second);
  EXPECT_EQ(refusal["handoff"], body_of(first)["id"]);
  EXPECT_EQ(refusal["destination_host"], "edge-b");
  EXPECT_EQ(refusal["destination"], "10.0.0.2:7070");
  std::string message = refusal["error"]["message"];
  EXPECT_NE(message.find("to `edge-b` (10.0.0.2:7070)"), std::string::npos) << message;
}

TEST_F(FleetRoutesTest, AnotherAgentSendsTheCallerToTheSource) {
  start(&fleet_);
  httplib::Result result = post(R"({"service":"web9","to":"edge-a"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 307);
  EXPECT_EQ(result->get_header_value("Location"), "http://10.0.0.2:8443/v1/fleet/handoff");
  EXPECT_EQ(body_of(result)["source"], "edge-b");
}

TEST_F(FleetRoutesTest, RefusesUnknownServicesAndHostsAndTheOwner) {
  start(&fleet_);
  EXPECT_EQ(post(R"({"service":"web5","to":"edge-b"})")->status, 404);
  EXPECT_EQ(post(R"({"service":"web1","to":"edge-z"})")->status, 404);
  EXPECT_EQ(post(R"({"service":"web1","to":"edge-a"})")->status, 409);
  EXPECT_EQ(post(R"({"service":"web1"})")->status, 400);
}

TEST_F(FleetRoutesTest, ListsHostsAndLocatesServices) {
  start(&fleet_);
  httplib::Result hosts = get("/v1/fleet/hosts");
  ASSERT_TRUE(hosts);
  EXPECT_EQ(body_of(hosts)["hosts"].size(), 2u);
  httplib::Result service = get("/v1/fleet/services/web9");
  ASSERT_TRUE(service);
  EXPECT_EQ(body_of(service)["host"], "edge-b");
  EXPECT_EQ(body_of(service)["revision"], 9);
  EXPECT_EQ(get("/v1/fleet/services/web5")->status, 404);
}

TEST_F(FleetRoutesTest, APrepareTakesFleetHostNames) {
  start(&fleet_);
  httplib::Result result = prepare(R"({"container":"web1","destinations":["edge-b","10.0.0.9:7070"]})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(host_.prepared_at, (std::vector<std::string>{"10.0.0.2:7070", "10.0.0.9:7070"}));
  json answer = body_of(result);
  EXPECT_EQ(answer["preparations"][0]["host"], "edge-b");
  EXPECT_EQ(answer["preparations"][0]["destination"], "10.0.0.2:7070");
  EXPECT_FALSE(answer["preparations"][1].contains("host"));
  httplib::Result one = prepare(R"({"container":"web1","destination":"edge-b"})");
  ASSERT_TRUE(one);
  EXPECT_EQ(body_of(one)["host"], "edge-b");
}

TEST_F(FleetRoutesTest, APrepareRefusesUnknownAndTwiceNamedHosts) {
  start(&fleet_);
  httplib::Result unknown = prepare(R"({"container":"web1","destination":"edge-z"})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(body_of(unknown)["error"]["message"].get<std::string>().find("no host `edge-z`"), std::string::npos);
  EXPECT_EQ(prepare(R"({"container":"web1","destinations":["edge-b","10.0.0.2:7070"]})")->status, 400);
  EXPECT_TRUE(host_.prepared_at.empty());
}

TEST_F(FleetRoutesTest, APrepareByNameOutsideAFleetSaysSo) {
  start(nullptr);
  httplib::Result result = prepare(R"({"container":"web1","destination":"edge-b"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_NE(body_of(result)["error"]["message"].get<std::string>().find("not in a fleet"), std::string::npos);
  EXPECT_EQ(prepare(R"({"container":"web1","destination":"10.0.0.9:7070"})")->status, 200);
}

TEST_F(FleetRoutesTest, AnAgentOutsideAFleetSaysSo) {
  start(nullptr);
  for (const char* path : {"/v1/fleet/hosts", "/v1/fleet/watch"}) {
    httplib::Result result = get(path);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 404) << path;
    EXPECT_NE(body_of(result)["error"]["message"].get<std::string>().find("not in a fleet"), std::string::npos);
  }
}

// The owners as read, a move as it comes; the client hanging up ends the etcd watch.
TEST_F(FleetRoutesTest, AWatchStreamsTheOwnersThenEachMoveUntilTheClientGoes) {
  start(&fleet_);
  std::string content_type;
  std::string pending;
  std::vector<json> lines;
  double open_while_streaming = -1;
  httplib::Result result = client_->Get(
      "/v1/fleet/watch?service=web1", {{"Authorization", std::string("Bearer ") + kToken}},
      [&](const httplib::Response& response) {
        content_type = response.get_header_value("Content-Type");
        return true;
      },
      [&](const char* data, size_t size) {
        pending.append(data, size);
        for (size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1))
          lines.push_back(json::parse(pending.substr(0, end)));
        if (lines.size() == 1) {
          open_while_streaming = registry_.value("dockmig_fleet_watches_open");
          fleet_.move({"web1", "edge-a", "edge-b", 8, false});
        }
        return lines.size() < 2;  // then hang up
      });
  EXPECT_EQ(open_while_streaming, 1);
  EXPECT_TRUE(watches_open(0));
  EXPECT_EQ(watches_ended("client_gone"), 1);
  EXPECT_EQ(watches_ended("error"), 0);
  EXPECT_FALSE(result);  // cancelled by the receiver
  EXPECT_EQ(content_type, "application/x-ndjson");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (json{{"service", "web1"}, {"from", nullptr}, {"to", "edge-a"}, {"revision", 7}, {"current", true}}));
  EXPECT_EQ(lines[1], (json{{"service", "web1"}, {"from", "edge-a"}, {"to", "edge-b"}, {"revision", 8}, {"current", false}}));
  for (int i = 0; i < 500 && fleet_.following > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fleet_.following, 0) << "the etcd watch outlived its client";
}

// A gateway that reconnects after revision 7 gets no state again, only the move after it.
TEST_F(FleetRoutesTest, AWatchAfterARevisionStreamsOnlyTheChangesAfterIt) {
  start(&fleet_);
  std::string pending;
  std::vector<json> lines;
  bool moved = false;
  httplib::Result result = client_->Get(
      "/v1/fleet/watch?service=web1&after_revision=7", {{"Authorization", std::string("Bearer ") + kToken}},
      [&](const httplib::Response&) {
        fleet_.move({"web1", "edge-a", "edge-b", 8, false});  // the stream has started
        moved = true;
        return true;
      },
      [&](const char* data, size_t size) {
        pending.append(data, size);
        for (size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1))
          lines.push_back(json::parse(pending.substr(0, end)));
        return lines.empty();
      });
  EXPECT_FALSE(result);  // cancelled by the receiver
  ASSERT_TRUE(moved);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], (json{{"service", "web1"}, {"from", "edge-a"}, {"to", "edge-b"}, {"revision", 8}, {"current", false}}));
}

TEST_F(FleetRoutesTest, AWatchAfterACompactedRevisionIsGoneAndSaysToReconnectWithoutIt) {
  start(&fleet_);
  httplib::Result gone = get("/v1/fleet/watch?after_revision=3");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 410);
  EXPECT_NE(body_of(gone)["error"]["message"].get<std::string>().find("compacted"), std::string::npos);
  EXPECT_NE(body_of(gone)["error"]["hint"].get<std::string>().find("reconnect without after_revision"), std::string::npos);
  httplib::Result ahead = get("/v1/fleet/watch?after_revision=101");
  ASSERT_TRUE(ahead);
  EXPECT_EQ(ahead->status, 400);
  for (const char* bad : {"0", "-4", "x", "", "7x", "99999999999999999999"}) {
    httplib::Result refused = get(std::string("/v1/fleet/watch?after_revision=") + bad);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
    EXPECT_NE(body_of(refused)["error"]["message"].get<std::string>().find("`after_revision`"), std::string::npos) << bad;
  }
  EXPECT_EQ(fleet_.following, 0);
}

// A watch whose etcd watch fails ends with an {"error"} line, and is counted as such.
TEST_F(FleetRoutesTest, AWatchThatFailsEndsWithAnErrorLineAndIsCountedSo) {
  fleet_.fail_after_first_read = true;
  start(&fleet_);
  httplib::Result result = get("/v1/fleet/watch?service=web1");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_NE(result->body.find("{\"error\":{\"message\":\"no etcd member served the watch\"}}\n"), std::string::npos)
      << result->body;
  EXPECT_TRUE(watches_open(0));
  EXPECT_EQ(watches_ended("error"), 1);
  EXPECT_EQ(watches_ended("client_gone"), 0);
  httplib::Result gone = get("/v1/fleet/watch?after_revision=3");  // refused: never open
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 410);
  EXPECT_EQ(watches_ended("error"), 1);
}

// A quiet stream (resumed, nothing has moved since) still gets a line, the heartbeat.
TEST_F(FleetRoutesTest, AQuietWatchGetsAHeartbeatLine) {
  heartbeat_ = std::chrono::milliseconds(200);
  start(&fleet_);
  client_->set_read_timeout(std::chrono::seconds(30));  // the generous deadline
  std::string received;
  httplib::Result result = client_->Get(
      "/v1/fleet/watch?service=web1&after_revision=7", {{"Authorization", std::string("Bearer ") + kToken}},
      [&](const char* data, size_t size) {
        received.append(data, size);
        return received.find('\n') == std::string::npos;
      });
  EXPECT_FALSE(result);  // cancelled by the receiver
  EXPECT_EQ(received, "{\"heartbeat\":true}\n");
}

TEST(WatchFailureStatus, OnlyAResumedWatchBlamesItsRevision) {
  Error compacted = make_error(ErrorCode::Conflict, "revision 3 is compacted away");
  Error ahead = make_error(ErrorCode::InvalidInput, "revision 900 is ahead of etcd's");
  Error down = make_error(ErrorCode::Network, "connection refused");
  EXPECT_EQ(watch_failure_status(compacted, true), 410);
  EXPECT_EQ(watch_failure_status(ahead, true), 400);
  EXPECT_EQ(watch_failure_status(down, true), 502);
  EXPECT_EQ(watch_failure_status(compacted, false), 502);
  EXPECT_EQ(watch_failure_status(ahead, false), 502);
}

TEST_F(FleetRoutesTest, AWatchRefusesBadNamesAndSaysWhenEtcdCannotBeRead) {
  start(&fleet_);
  httplib::Result bad = get("/v1/fleet/watch?service=web1&service=no%20such");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(body_of(bad)["error"]["message"].get<std::string>().find("`service=no such`"), std::string::npos);
  fleet_.etcd_down = true;
  httplib::Result down = get("/v1/fleet/watch");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 502);
  EXPECT_NE(body_of(down)["error"]["message"].get<std::string>().find("connection refused"), std::string::npos);
}

}  // namespace
}  // namespace dockmig::agent
