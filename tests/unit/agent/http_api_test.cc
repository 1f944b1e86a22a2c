// The API over real HTTP on loopback, with a fake host (no Docker) and a fake migration:
// authentication, validation, size limits, idempotency, 409 and the event stream.
#include "agent/http_api.h"

#include <httplib.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "base/log_format.h"
#include "transfer/tls_certs.h"

namespace dockmig::agent {
namespace {

using nlohmann::json;
constexpr const char* kToken = "test-token-0123456789";

class FakeHost : public HostBackend {
 public:
  Result<std::string> resolve_container(const std::string& name) override {
    if (name == "web1" || name == "0123456789ab") return std::string("full-id-web1");
    if (name == "web2") return std::string("full-id-web2");
    return make_error(ErrorCode::NotFound, "no container `" + name + "` here");
  }
  Result<json> list_containers() override {
    return json{{"containers", json::array({{{"id", "full-id-web1"}, {"container", "web1"}}})}};
  }
  Result<json> prepare(const PrepareSpec& spec) override {
    return json{{"destination", spec.destinations.front()}, {"wire_bytes", 1}};
  }
};

/// Migrations that take until the test lets them go, and count how many ever started.
class HeldMigrations {
 public:
  HandoffQueue::Runner runner() {
    return [this](const HandoffSpec& spec, migrate::Progress& progress) {
      ++started;
      for (const char* phase : kPhaseNames) {
        progress.phase_started(phase);
        progress.phase_finished(PhaseReport{phase, 0.01, 1, 1});
      }
      std::unique_lock lock(mutex_);
      released_.wait(lock, [&] { return free_; });
      migrate::MigrationOutcome outcome;
      outcome.report.container = spec.container;
      return outcome;
    };
  }
  void release() {
    { std::lock_guard lock(mutex_); free_ = true; }
    released_.notify_all();
  }
  std::atomic<int> started{0};

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool free_ = false;
};

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::vector<TokenEntry>> entries = parse_token_file(std::string("gateway-1 ") + kToken + "\n", "test");
    ASSERT_TRUE(entries);
    tokens_ = std::make_unique<TokenStore>(std::move(*entries));
    queue_ = std::make_unique<HandoffQueue>(migrations_.runner(), HandoffQueue::Limits{});
    registry_.declare("test_handoffs_total", metrics::Kind::Counter, "Handoffs");
    registry_.add("test_handoffs_total", 3);
    ApiConfig config{"127.0.0.1:0", std::nullopt, tokens_.get()};
    config.metrics = &registry_;
    Result<std::unique_ptr<ApiServer>> api = ApiServer::start(config, *queue_, host_);
    ASSERT_TRUE(api) << api.error().describe();
    api_ = std::move(*api);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", api_->port());
    client_->set_read_timeout(5, 0);
  }
  void TearDown() override {
    migrations_.release();
    if (api_) api_->stop();
    queue_.reset();
  }

  httplib::Headers auth(const std::string& token = kToken) { return {{"Authorization", "Bearer " + token}}; }

  httplib::Result post_handoff(const std::string& body, httplib::Headers headers) {
    return client_->Post("/v1/handoffs", headers, body, "application/json");
  }

  static json body_of(const httplib::Result& result) { return json::parse(result->body, nullptr, false); }

  FakeHost host_;
  HeldMigrations migrations_;
  metrics::Registry registry_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<HandoffQueue> queue_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<httplib::Client> client_;
};

constexpr const char* kHandoff = R"({"container":"web1","destination":"10.0.0.2:7070"})";

TEST_F(HttpApiTest, HealthAnswersWithoutCredentials) {
  httplib::Result result = client_->Get("/v1/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(body_of(result)["status"], "ok");
  EXPECT_FALSE(body_of(result).contains("handoffs"));
}

TEST_F(HttpApiTest, MissingOrWrongTokenGets401AndStartsNothing) {
  for (const httplib::Headers& headers : {httplib::Headers{}, auth("wrong-token-0123456789"),
                                          httplib::Headers{{"Authorization", "Basic Zm9vOmJhcg=="}}}) {
    httplib::Result result = post_handoff(kHandoff, headers);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401);
    EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Bearer realm=\"dockmig\"");
    EXPECT_EQ(body_of(result)["error"]["status"], 401);
  }
  httplib::Result listed = client_->Get("/v1/containers");
  EXPECT_EQ(listed->status, 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(migrations_.started, 0);
  EXPECT_EQ(queue_->recent(10).size(), 0u);
}

TEST_F(HttpApiTest, MetricsAreServedInPrometheusTextToAuthenticatedCallersOnly) {
  httplib::Result refused = client_->Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  httplib::Result scraped = client_->Get("/metrics", auth());
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->status, 200);
  EXPECT_EQ(scraped->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(scraped->body, registry_.render());
  EXPECT_NE(scraped->body.find("\ntest_handoffs_total 3\n"), std::string::npos) << scraped->body;
}

// Every request's line in the agent's log, at its most verbose, and the refusals' warnings:
// neither the valid token nor a wrong one may appear in it.
TEST_F(HttpApiTest, TokensNeverReachTheLog) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  sink->set_formatter(base::make_log_formatter(base::LogFormat::Json));
  auto previous = spdlog::default_logger();
  spdlog::level::level_enum previous_level = spdlog::get_level();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("dockmig", sink));
  spdlog::set_level(spdlog::level::trace);
  const std::string wrong = "wrong-secret-9876543210";
  client_->Get("/metrics", auth());
  client_->Get("/v1/containers", auth(wrong));
  post_handoff(kHandoff, auth());
  post_handoff(kHandoff, auth(wrong));
  api_->stop();  // the access log is written after the answer: wait for the server's threads
  spdlog::set_default_logger(previous);
  spdlog::set_level(previous_level);
  std::string log = captured.str();
  EXPECT_NE(log.find("api: GET /metrics from 127.0.0.1: 200"), std::string::npos) << log;
  EXPECT_NE(log.find("refused, no valid credentials"), std::string::npos) << log;
  EXPECT_EQ(log.find(kToken), std::string::npos) << log;
  EXPECT_EQ(log.find(wrong), std::string::npos) << log;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) EXPECT_TRUE(json::accept(line)) << line;
}

TEST_F(HttpApiTest, MalformedBodiesGet400WithTheReason) {
  for (const char* body : {"{", "[]", R"({"container":"web1"})", R"({"container":"../x","destination":"a:1"})"}) {
    httplib::Result result = post_handoff(body, auth());
    ASSERT_TRUE(result) << body;
    EXPECT_EQ(result->status, 400) << body;
    EXPECT_FALSE(body_of(result)["error"]["message"].get<std::string>().empty());
  }
  httplib::Result form = client_->Post("/v1/handoffs", auth(), kHandoff, "text/plain");
  EXPECT_EQ(form->status, 415);
  EXPECT_EQ(migrations_.started, 0);
}

TEST_F(HttpApiTest, OversizedBodyGets413AndTheServerKeepsServing) {
  std::string body = R"({"container":"web1","destination":"10.0.0.2:7070","pad":")" + std::string(200 * 1024, 'x') + "\"}";
  httplib::Result result = post_handoff(body, auth());
  if (result) {  // else the server closed before reading it all, also a refusal
    EXPECT_EQ(result->status, 413);
  }
  httplib::Client fresh("127.0.0.1", api_->port());
  httplib::Result health = fresh.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(HttpApiTest, UnknownContainerGets404) {
  httplib::Result result = post_handoff(R"({"container":"nope","destination":"10.0.0.2:7070"})", auth());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
}

TEST_F(HttpApiTest, RetriedPostWithTheSameKeyGetsTheSameHandoffAndASecondOneGets409) {
  httplib::Headers keyed = auth();
  keyed.emplace("Idempotency-Key", "k-1");
  httplib::Result first = post_handoff(kHandoff, keyed);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  std::string id = body_of(first)["id"];
  EXPECT_EQ(first->get_header_value("Location"), "/v1/handoffs/" + id);

  httplib::Result retry = post_handoff(kHandoff, keyed);
  ASSERT_EQ(retry->status, 202);
  EXPECT_EQ(body_of(retry)["id"], id);
  EXPECT_EQ(retry->get_header_value("Idempotent-Replayed"), "true");

  httplib::Result other = post_handoff(R"({"container":"0123456789ab","destination":"10.0.0.3:7070"})", auth());
  ASSERT_EQ(other->status, 409) << other->body;
  EXPECT_EQ(body_of(other)["handoff"], id);

  httplib::Result reused = post_handoff(R"({"container":"web2","destination":"10.0.0.3:7070"})", keyed);
  EXPECT_EQ(reused->status, 422);

  httplib::Result status = client_->Get("/v1/handoffs/" + id, auth());
  ASSERT_EQ(status->status, 200);
  EXPECT_EQ(body_of(status)["caller"], "gateway-1");
  EXPECT_EQ(body_of(status)["container"], "web1");
}

TEST_F(HttpApiTest, EventStreamShowsEveryPhaseInOrderUntilTheEnd) {
  httplib::Result accepted = post_handoff(kHandoff, auth());
  ASSERT_EQ(accepted->status, 202);
  std::string id = body_of(accepted)["id"];
  migrations_.release();
  std::string stream;
  httplib::Result events = client_->Get("/v1/handoffs/" + id + "/events", auth(), [&](const char* data, size_t size) {
    stream.append(data, size);
    return true;
  });
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 200);
  std::vector<std::string> phases;
  size_t at = 0;
  while ((at = stream.find("event: phase-started\ndata: ", at)) != std::string::npos) {
    size_t start = stream.find("data: ", at) + 6;
    phases.push_back(json::parse(stream.substr(start, stream.find('\n', start) - start))["phase"]);
    at = start;
  }
  EXPECT_EQ(phases, std::vector<std::string>(std::begin(kPhaseNames), std::end(kPhaseNames)));
  EXPECT_NE(stream.find("event: end\n"), std::string::npos) << stream;
  EXPECT_NE(stream.find("\"state\":\"succeeded\""), std::string::npos);
  httplib::Result status = client_->Get("/v1/handoffs/" + id, auth());
  EXPECT_EQ(body_of(status)["state"], "succeeded");
  EXPECT_TRUE(body_of(status).contains("report"));
}

TEST_F(HttpApiTest, UnknownIdsAndPathsGet404InJson) {
  for (const char* path : {"/v1/handoffs/0000000000000000", "/v1/handoffs/..%2f..%2fetc", "/v1/nope", "/"}) {
    httplib::Result result = client_->Get(path, auth());
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 404) << path;
    EXPECT_TRUE(body_of(result).contains("error")) << path << ": " << result->body;
  }
}

TEST_F(HttpApiTest, ContainersListMarksTheBusyOne) {
  httplib::Result accepted = post_handoff(kHandoff, auth());
  ASSERT_EQ(accepted->status, 202);
  httplib::Result listed = client_->Get("/v1/containers", auth());
  ASSERT_EQ(listed->status, 200);
  EXPECT_EQ(body_of(listed)["containers"][0]["handoff"], body_of(accepted)["id"]);
}

TEST(HttpsApi, AClientCertificateOfTheCaAuthenticatesWithoutAToken) {
  std::string pattern = (std::filesystem::temp_directory_path() / "dockmig-api-XXXXXX").string();
  std::filesystem::path dir = mkdtemp(pattern.data());
  Result<std::vector<transfer::CertHost>> hosts = transfer::parse_cert_hosts("agent=127.0.0.1,gateway");
  ASSERT_TRUE(hosts);
  hosts->back().gateway = true;  // a gateway's certificate (clientAuth only) still calls the API
  ASSERT_TRUE(transfer::make_test_certificates(dir, *hosts, 1));
  FakeHost host;
  HeldMigrations migrations;
  HandoffQueue queue(migrations.runner(), {});
  transfer::TlsFiles files{(dir / "agent.pem").string(), (dir / "agent-key.pem").string(), (dir / "ca.pem").string()};
  Result<std::unique_ptr<ApiServer>> api = ApiServer::start({"127.0.0.1:0", files, nullptr}, queue, host);
  ASSERT_TRUE(api) << api.error().describe();

  httplib::SSLClient with_cert("127.0.0.1", (*api)->port(), (dir / "gateway.pem").string(),
                               (dir / "gateway-key.pem").string());
  with_cert.set_ca_cert_path((dir / "ca.pem").string());
  with_cert.enable_server_certificate_verification(true);
  httplib::Result listed = with_cert.Get("/v1/containers");
  ASSERT_TRUE(listed) << httplib::to_string(listed.error());
  EXPECT_EQ(listed->status, 200);

  httplib::SSLClient without_cert("127.0.0.1", (*api)->port());
  without_cert.set_ca_cert_path((dir / "ca.pem").string());
  httplib::Result refused = without_cert.Get("/v1/containers");
  ASSERT_TRUE(refused) << httplib::to_string(refused.error());
  EXPECT_EQ(refused->status, 401);
  migrations.release();
  (*api)->stop();
  std::filesystem::remove_all(dir);
}

/// A client on `from` (a loopback address) that sends the start of a request, then one
/// byte every 200 ms, each well within the read timeout, until the server closes on it.
class Trickler {
 public:
  Trickler(const char* from, uint16_t port) : started_(std::chrono::steady_clock::now()) {
    socket_ = connect_from(from, port);
    thread_ = std::thread([this] { trickle(); });
  }
  ~Trickler() {
    stop_ = true;
    thread_.join();
    if (socket_ >= 0) ::close(socket_);
  }
  /// How long the server kept the connection; nullopt while it still does.
  std::optional<std::chrono::milliseconds> held() const {
    return closed_ ? std::optional(std::chrono::duration_cast<std::chrono::milliseconds>(closed_at_.load() - started_))
                   : std::nullopt;
  }

  static int connect_from(const char* from, uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{AF_INET, 0, {}, {}}, server{AF_INET, htons(port), {}, {}};
    ::inet_pton(AF_INET, from, &local.sin_addr);
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

 private:
  void trickle() {
    std::string start = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    bool open = socket_ >= 0 && ::send(socket_, start.data(), start.size(), MSG_NOSIGNAL) > 0;
    while (open && !stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      char byte = 'a', answer = 0;
      open = ::send(socket_, &byte, 1, MSG_NOSIGNAL) == 1 && ::recv(socket_, &answer, 1, MSG_DONTWAIT) != 0;
    }
    closed_at_ = std::chrono::steady_clock::now();
    closed_ = !stop_;
  }

  int socket_ = -1;
  std::chrono::steady_clock::time_point started_;
  std::atomic<std::chrono::steady_clock::time_point> closed_at_{};
  std::atomic<bool> closed_{false}, stop_{false};
  std::thread thread_;
};

// httplib bounds each read only; the API bounds the whole request, and one client address
// cannot take every worker: clients that trickle bytes are cut off at the deadline, and
// meanwhile another client is served at once.
TEST(SlowHttpClients, AreCutOffAtTheRequestDeadlineWhileOthersAreServed) {
  FakeHost host;
  HeldMigrations migrations;
  HandoffQueue queue(migrations.runner(), {});
  ApiConfig config{"127.0.0.1:0", std::nullopt, nullptr};
  config.threads = 4;  // so one client address may hold 3
  config.request_deadline = std::chrono::seconds(3);
  Result<std::unique_ptr<ApiServer>> api = ApiServer::start(config, queue, host);
  ASSERT_TRUE(api) << api.error().describe();
  std::vector<std::unique_ptr<Trickler>> slow;
  for (int i = 0; i < 6; ++i) slow.push_back(std::make_unique<Trickler>("127.0.0.1", (*api)->port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  auto asked = std::chrono::steady_clock::now();
  int fd = Trickler::connect_from("127.0.0.2", (*api)->port());
  ASSERT_GE(fd, 0);
  std::string request = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  timeval wait{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  char answer[64] = {};
  ssize_t got = ::recv(fd, answer, sizeof(answer) - 1, 0);
  ::close(fd);
  auto answered_after = std::chrono::steady_clock::now() - asked;
  ASSERT_GT(got, 0) << "the API did not answer while slow clients trickled";
  EXPECT_TRUE(std::string(answer).starts_with("HTTP/1.1 200")) << answer;
  // The slow clients' deadline is 3 s after they connected, 2.5 s after this request.
  EXPECT_LT(answered_after, std::chrono::seconds(2)) << "the answer waited for a slow client's deadline";

  int cut_at_once = 0;
  for (auto& trickler : slow)
    if (trickler->held() && *trickler->held() < std::chrono::milliseconds(1500)) ++cut_at_once;
  EXPECT_EQ(cut_at_once, 3) << "one address holds 3 of 4 workers; its other connections are closed at once";
  std::this_thread::sleep_for(std::chrono::seconds(4));
  for (auto& trickler : slow) {
    ASSERT_TRUE(trickler->held()) << "a slow client still held its worker after the deadline";
    EXPECT_LT(*trickler->held(), std::chrono::milliseconds(4000));
  }
  migrations.release();
  (*api)->stop();
}

}  // namespace
}  // namespace dockmig::agent
