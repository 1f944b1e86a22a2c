// etcd through its v3 JSON gateway (etcd 3.4 serves it at /v3/...), so dockmig needs no
// gRPC stack: every call is one POST of a JSON body, answered by one JSON object, or by
// {"error", "code"} with an HTTP error status. Even the lease keep-alive, a gRPC stream,
// is one request and one {"result": …} answer when the request body holds one message.
#include "etcd/client.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/curl_handles.h"
#include "etcd/auth.h"

namespace dockmig::etcd {

struct AuthSession {
  std::string password;
  std::mutex mutex;            // held while authenticating, so threads share one new token
  std::string token;           // "" before the first authentication, or while etcd has auth off
  bool authenticated = false;  // the first authentication was made
};

namespace {

using nlohmann::json;

// Between rounds over every member: an election ends in a second or two.
constexpr std::chrono::milliseconds kPauseBetweenRounds{250};
// A swap found unapplied after its answer was lost is sent again, at most this often.
constexpr int kMaxSwapSends = 3;

// The gRPC status etcd put in an error answer, as ours.
ErrorCode code_for_grpc(int grpc_code) {
  switch (grpc_code) {
    case 3: return ErrorCode::InvalidInput;  // INVALID_ARGUMENT
    case 4: return ErrorCode::Timeout;       // DEADLINE_EXCEEDED
    case 5: return ErrorCode::NotFound;      // NOT_FOUND (e.g. "requested lease not found")
    case 9: return ErrorCode::Conflict;      // FAILED_PRECONDITION
    case 14: return ErrorCode::Network;      // UNAVAILABLE (e.g. no leader)
    default: return ErrorCode::ToolFailed;
  }
}

// etcd's own words from an error answer ({"error": "…", "message": "…", "code": 5}; a
// stream's error is an object), else the start of the body.
std::string error_message(const json& answer, const std::string& body) {
  for (const char* field : {"message", "error"}) {
    if (answer.is_object() && answer.contains(field) && answer[field].is_string())
      return answer[field].get<std::string>();
  }
  return body.substr(0, 300);
}

int grpc_code_of(const json& answer) {
  if (!answer.is_object()) return 0;
  const json& holder = answer.contains("error") && answer["error"].is_object() ? answer["error"] : answer;
  for (const char* field : {"code", "grpc_code"}) {  // a stream's error says grpc_code
    if (holder.contains(field) && holder[field].is_number_integer()) return holder[field].get<int>();
  }
  return 0;
}

// A read at a past revision that etcd refused, said in terms of that revision.
Error refused_at(int64_t revision, Error error) {
  std::string asked = "revision " + std::to_string(revision);
  switch (revision_refusal(error.message)) {
    case RevisionRefusal::Compacted:
      return make_error(ErrorCode::Conflict, asked + " is compacted away: etcd no longer keeps the history there",
                        "read the current state instead, without a revision");
    case RevisionRefusal::Future:
      return make_error(ErrorCode::InvalidInput, asked + " is ahead of etcd's: this cluster has not reached it",
                        "give a revision this etcd cluster has reported");
    case RevisionRefusal::Other:
      break;
  }
  return error;
}

std::string unreachable_hint(const std::string& endpoint) {
  if (endpoint.starts_with("https://"))
    return "check that etcd runs at --etcd's URLs, that --etcd-ca signed its certificate, and that "
           "--etcd-cert and --etcd-key are given when etcd asks for a client certificate";
  return "check that etcd runs and that --etcd names its client URLs";
}

Result<std::string> parse_endpoint(std::string_view text) {
  std::string endpoint(text);
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://"))
    return make_error(ErrorCode::InvalidInput, "etcd endpoint `" + std::string(text) + "` is not an http(s) URL",
                      "give etcd's client URL, e.g. --etcd http://10.77.9.1:2379");
  return endpoint;
}

Status check_security_files(const ClientSecurity& security) {
  for (auto [flag, path] : {std::pair{"--etcd-ca", &security.ca}, {"--etcd-cert", &security.cert},
                            {"--etcd-key", &security.key}, {"--etcd-password-file", &security.password_file}}) {
    std::error_code error;
    if (!path->empty() && !std::filesystem::is_regular_file(*path, error))
      return make_error(ErrorCode::InvalidInput, std::string(flag) + ": no file `" + *path + "`");
  }
  if (security.cert.empty() != security.key.empty())
    return make_error(ErrorCode::InvalidInput, "--etcd-cert and --etcd-key go together",
                      "give both, or neither when etcd does not ask for client certificates");
  if (security.user.empty() != security.password_file.empty())
    return make_error(ErrorCode::InvalidInput, "--etcd-user and --etcd-password-file go together",
                      "give both, or neither when etcd has no auth enabled");
  return {};
}

// The first line of the file, without its line end.
Result<std::string> read_password(const std::string& path) {
  std::ifstream in(path);
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty())
    return make_error(ErrorCode::InvalidInput, "--etcd-password-file: no password in `" + path + "`",
                      "its first line is the password of --etcd-user");
  return password;
}

// The Authorization header etcd's gateway takes the token from, when there is one.
curl_slist* with_token(curl_slist* headers, const std::string& token) {
  return token.empty() ? headers : curl_slist_append(headers, ("Authorization: " + token).c_str());
}

// Why an answer is an error, in auth's terms.
AuthRefusal refusal_of(const Result<nlohmann::json>& answer) {
  return answer ? AuthRefusal::None : auth_refusal(answer.error().message);
}

// A watch's answer is a stream of JSON messages, one a line, for as long as it lasts.
struct WatchStream {
  const Client::WatchHandler& on_events;
  WatchCursor& cursor;
  std::stop_token stop;
  std::string pending;  // the start of a line not yet complete
  bool created = false;
  std::optional<StreamEnd> end;  // none: it ended by the network or etcd closing it
  std::optional<Error> failure;

  // Hands every complete line to the handler; false to end the stream.
  bool take(std::string_view bytes) {
    pending.append(bytes);
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!take_line(line)) return false;
    }
    return true;
  }

  bool take_line(const std::string& line) {
    if (line.find_first_not_of(" \r") == std::string::npos) return true;
    return deliver(json::parse(line, nullptr, false), line);
  }

  bool fail(StreamEnd how, Error error) {
    end = how;
    failure = std::move(error);
    return false;
  }

  bool deliver(const json& message, const std::string& line) {
    if (!message.is_object())
      return fail(StreamEnd::Refused, make_error(ErrorCode::ToolFailed, "a watch message is not JSON: " + line.substr(0, 300)));
    if (message.contains("error")) {
      int grpc_code = grpc_code_of(message);
      std::string text = error_message(message["error"].is_object() ? message["error"] : message, line);
      return fail(end_of_error(grpc_code, text), make_error(code_for_grpc(grpc_code), text));
    }
    Result<WatchMessage> parsed = parse_watch_message(message);
    if (!parsed) return fail(StreamEnd::Refused, std::move(parsed.error()));
    created = created || parsed->created;
    if (parsed->canceled) return fail(end_of_cancel(*parsed), cancel_error(*parsed));
    std::vector<WatchEvent> events = cursor.take(std::move(*parsed));
    if (events.empty() || on_events(events)) return true;
    end = StreamEnd::ByCaller;
    return false;
  }

  Error cancel_error(const WatchMessage& message) const {
    if (end_of_cancel(message) == StreamEnd::Compacted)
      return make_error(ErrorCode::Conflict,
                        "revision " + std::to_string(cursor.next_revision()) + " is compacted away (etcd keeps history from revision " +
                            std::to_string(message.compact_revision) + ")",
                        "read the current state again and watch from the revision after that read");
    return make_error(ErrorCode::ToolFailed, "etcd cancelled the watch: " +
                                                 (message.cancel_reason.empty() ? "no reason given" : message.cancel_reason));
  }
};

size_t take_watch_bytes(char* data, size_t size, size_t count, void* stream) {
  return static_cast<WatchStream*>(stream)->take(std::string_view(data, size * count)) ? size * count : 0;
}

int check_watch_stop(void* stream, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* watch = static_cast<WatchStream*>(stream);
  if (!watch->stop.stop_requested()) return 0;
  watch->end = StreamEnd::ByCaller;
  return 1;
}

// Waits `pause`, or less when the caller asks to stop.
void pause_unless_stopped(std::chrono::milliseconds pause, const std::stop_token& stop) {
  auto until = std::chrono::steady_clock::now() + pause;
  while (!stop.stop_requested() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
}

// What every POST to the gateway sets: the URL and JSON body, the connect timeout, and
// TLS when the endpoint is https. `headers` and `payload` must outlive the transfer.
void prepare_post(CURL* curl, const std::string& url, const std::string& payload, curl_slist* headers,
                  const ClientSecurity& security, std::chrono::milliseconds timeout) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(timeout.count(), 2000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!security.ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, security.ca.c_str());
  if (!security.cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, security.cert.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, security.key.c_str());
  }
}

// A swap's answer; a failure that meets our own earlier write (a first copy whose answer
// was lost, applied late) is a success.
Result<SwapOutcome> swap_outcome(Result<json> answer, int64_t expected_mod_revision, std::string_view value) {
  if (!answer) return std::move(answer.error());
  Result<SwapOutcome> outcome = parse_swap(*answer);
  if (outcome && !outcome->succeeded && is_our_earlier_write(expected_mod_revision, value, outcome->current)) {
    outcome->succeeded = true;
    outcome->revision = outcome->current->mod_revision;
  }
  return outcome;
}

}  // namespace

Client::Client(std::vector<std::string> endpoints, ClientSecurity security, std::string password,
               std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), security_(std::move(security)), timeout_(timeout),
      preferred_(std::make_shared<std::atomic<size_t>>(0)) {
  if (security_.user.empty()) return;
  auth_ = std::make_shared<AuthSession>();
  auth_->password = std::move(password);
}

Result<Client> Client::open(std::string_view endpoints, ClientSecurity security, std::chrono::milliseconds timeout) {
  if (Status checked = check_security_files(security); !checked) return std::move(checked.error());
  std::string password;
  if (!security.password_file.empty()) {
    Result<std::string> read = read_password(security.password_file);
    if (!read) return std::move(read.error());
    password = std::move(*read);
  }
  std::vector<std::string> parsed;
  size_t start = 0;
  while (start <= endpoints.size()) {
    size_t comma = endpoints.find(',', start);
    std::string_view one = endpoints.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (!one.empty()) {
      Result<std::string> endpoint = parse_endpoint(one);
      if (!endpoint) return std::move(endpoint.error());
      parsed.push_back(std::move(*endpoint));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (parsed.empty())
    return make_error(ErrorCode::InvalidInput, "no etcd endpoint given",
                      "give etcd's client URLs, e.g. --etcd http://10.77.9.1:2379");
  return Client(std::move(parsed), std::move(security), std::move(password), timeout);
}

std::string Client::endpoints_text() const {
  std::string text;
  for (const std::string& endpoint : endpoints_) text += (text.empty() ? "" : ",") + endpoint;
  return text;
}

Client::Attempt Client::call_endpoint(const std::string& endpoint, std::string_view path, const std::string& payload,
                                      const std::string& token) const {
  base::CurlHandle curl(curl_easy_init());
  if (!curl) return {make_error(ErrorCode::Internal, "curl_easy_init failed"), Delivery::Answered};
  std::string url = endpoint + std::string(path);
  std::string body;
  base::CurlHeaders headers(with_token(curl_slist_append(nullptr, "Content-Type: application/json"), token));
  prepare_post(curl.get(), url, payload, headers.get(), security_, timeout_);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, base::append_to_string);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl.get());
  long request_bytes = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_REQUEST_SIZE, &request_bytes);
  std::string what = "etcd at " + endpoint + ": POST " + std::string(path);
  if (rc != CURLE_OK)
    return {make_error(rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::Timeout : ErrorCode::Network,
                       what + ": " + curl_easy_strerror(rc), unreachable_hint(endpoint)),
            delivery_of(request_bytes > 0, false, 0, {})};
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  json answer = json::parse(body, nullptr, false);
  if (status >= 400 || (answer.is_object() && answer.contains("error"))) {
    std::string message = error_message(answer, body);
    int grpc_code = grpc_code_of(answer);
    return {make_error(code_for_grpc(grpc_code), what + ": " + message + " (HTTP " + std::to_string(status) + ")"),
            delivery_of(true, true, grpc_code, message)};
  }
  if (!answer.is_object())
    return {make_error(ErrorCode::ToolFailed, what + ": the answer is not a JSON object: " + body.substr(0, 300),
                       "check that this URL is etcd's client URL (etcd 3.4 or later)"),
            Delivery::Answered};
  return {std::move(answer), Delivery::Answered};
}

std::chrono::milliseconds Client::failover_window() const {
  // With one member there is no election to wait out, and no other member to ask.
  return endpoints_.size() > 1 ? timeout_ : timeout_.zero();
}

Client::Attempt Client::send(std::string_view path, const json& body, Repeat repeat) const {
  Result<std::string> sent_token = token();
  if (!sent_token) return {std::move(sent_token.error()), Delivery::Answered};
  std::string payload = body.dump();
  Attempt attempt = send_to_members(path, payload, repeat, *sent_token);
  // A request refused for its token was not applied, so even a swap may go again.
  if (auth_ && needs_new_token(refusal_of(attempt.answer))) {
    Result<std::string> renewed = renew_token(*sent_token);
    if (!renewed) return {std::move(renewed.error()), Delivery::Answered};
    attempt = send_to_members(path, payload, repeat, *renewed);
  }
  if (!attempt.answer) attempt.answer = explain(std::move(attempt.answer.error()));
  return attempt;
}

Client::Attempt Client::send_to_members(std::string_view path, const std::string& payload, Repeat repeat,
                                        const std::string& token) const {
  auto rounds_until = std::chrono::steady_clock::now() + failover_window();
  std::vector<Error> failures;  // of the last round
  size_t index = preferred_->load() % endpoints_.size();
  for (size_t tried = 0;; ++tried, index = (index + 1) % endpoints_.size()) {
    if (tried > 0 && tried % endpoints_.size() == 0) {
      if (std::chrono::steady_clock::now() >= rounds_until) break;
      failures.clear();
      std::this_thread::sleep_for(kPauseBetweenRounds);
    }
    Attempt attempt = call_endpoint(endpoints_[index], path, payload, token);
    if (next_step(repeat, attempt.delivery) != NextStep::TryAnotherMember) {
      if (attempt.delivery == Delivery::Answered) preferred_->store(index);
      return attempt;
    }
    spdlog::debug("etcd: {}; trying another member", attempt.answer.error().message);
    failures.push_back(std::move(attempt.answer.error()));
  }
  if (failures.size() == 1) return {std::move(failures.front()), Delivery::NotSent};
  std::string joined;
  for (const Error& failure : failures) joined += (joined.empty() ? "" : "; ") + failure.message;
  return {make_error(ErrorCode::Network, "no etcd member took the request: " + joined,
                     unreachable_hint(endpoints_.front())),
          Delivery::NotSent};
}

Result<json> Client::call(std::string_view path, const json& body) const {
  return send(path, body, Repeat::Safe).answer;
}

Result<std::string> Client::token() const {
  if (!auth_) return std::string();
  std::lock_guard lock(auth_->mutex);
  if (auth_->authenticated) return auth_->token;
  return authenticate();
}

Result<std::string> Client::renew_token(const std::string& stale) const {
  std::lock_guard lock(auth_->mutex);
  if (auth_->token != stale) return auth_->token;  // another request renewed it meanwhile
  spdlog::info("etcd: {} refused the token of user {} (it expired, or etcd restarted); authenticating again",
               endpoints_text(), security_.user);
  return authenticate();
}

Result<std::string> Client::authenticate() const {
  std::string request = authenticate_request(security_.user, auth_->password).dump();
  Result<json> answer = send_to_members("/v3/auth/authenticate", request, Repeat::Safe, "").answer;
  if (refusal_of(answer) == AuthRefusal::NotEnabled) {
    spdlog::warn("etcd: {} has auth off; going on without a token as if --etcd-user were not given",
                 endpoints_text());
    auth_->token.clear();
  } else if (!answer) {
    return explain(std::move(answer.error()));
  } else {
    Result<std::string> token = parse_auth_token(*answer);
    if (!token) return std::move(token.error());
    auth_->token = std::move(*token);
    spdlog::debug("etcd: authenticated as user {}", security_.user);
  }
  auth_->authenticated = true;
  return auth_->token;
}

Error Client::explain(Error error) const {
  AuthRefusal refusal = auth_refusal(error.message);  // before `error` is moved from
  return explain_auth_refusal(refusal, security_.user, std::move(error));
}

Status Client::put(std::string_view key, std::string_view value, LeaseId lease) const {
  Result<json> answer = call("/v3/kv/put", put_request(key, value, lease));
  if (!answer) return std::move(answer.error());
  return {};
}

Result<std::optional<KeyValue>> Client::get(std::string_view key) const {
  Result<json> answer = call("/v3/kv/range", range_request(key));
  if (!answer) return std::move(answer.error());
  Result<std::vector<KeyValue>> found = parse_range(*answer);
  if (!found) return std::move(found.error());
  if (found->empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(found->front()));
}

Result<std::vector<KeyValue>> Client::get_prefix(std::string_view prefix) const {
  Result<json> answer = call("/v3/kv/range", range_request(prefix, prefix_range_end(prefix)));
  if (!answer) return std::move(answer.error());
  return parse_range(*answer);
}

Result<RangeAnswer> Client::get_prefix_at(std::string_view prefix, int64_t revision) const {
  Result<json> answer = call("/v3/kv/range", range_request(prefix, prefix_range_end(prefix), revision));
  if (!answer) return revision > 0 ? refused_at(revision, std::move(answer.error())) : std::move(answer.error());
  return parse_range_at(*answer);
}

Result<Lease> Client::grant_lease(std::chrono::seconds ttl) const {
  Result<json> answer = call("/v3/lease/grant", json{{"TTL", std::to_string(ttl.count())}});
  if (!answer) return std::move(answer.error());
  return parse_lease_grant(*answer);
}

Result<std::chrono::seconds> Client::keep_alive(LeaseId lease) const {
  Result<json> answer = call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}});
  if (!answer) return std::move(answer.error());
  return parse_keep_alive(*answer, lease);
}

Status Client::revoke(LeaseId lease) const {
  Result<json> answer = call("/v3/lease/revoke", json{{"ID", std::to_string(lease)}});
  if (!answer) return std::move(answer.error());
  return {};
}

Result<SwapOutcome> Client::put_if_mod_revision(std::string_view key, int64_t expected_mod_revision,
                                                std::string_view value, LeaseId lease) const {
  json request = swap_request(key, expected_mod_revision, value, lease);
  for (int sent = 1;; ++sent) {
    Attempt attempt = send("/v3/kv/txn", request, Repeat::Unsafe);
    if (next_step(Repeat::Unsafe, attempt.delivery) != NextStep::ResolveByReading)
      return swap_outcome(std::move(attempt.answer), expected_mod_revision, value);
    spdlog::warn("etcd: the answer to the swap of {} was lost ({}); reading it back", key,
                 attempt.answer.error().message);
    std::string unknown = "the answer to the swap of " + std::string(key) + " was lost";
    Result<std::optional<KeyValue>> current = get(key);
    if (!current)
      return std::move(current.error()).wrap(unknown + " and reading it back failed, so its outcome is unknown");
    switch (resolve_lost_swap(expected_mod_revision, value, *current)) {
      case LostSwap::Won:
        return SwapOutcome{true, (*current)->mod_revision, std::move(*current)};
      case LostSwap::Lost:
        return SwapOutcome{false, 0, std::move(*current)};
      case LostSwap::NotApplied:
        break;
    }
    if (sent >= kMaxSwapSends)
      return make_error(ErrorCode::Timeout, unknown + " " + std::to_string(sent) + " times; the key is unchanged",
                        "etcd lost its leader or members; check `etcdctl endpoint status` at " + endpoints_text());
  }
}

Status Client::watch_prefix(std::string_view prefix, int64_t start_revision, const WatchHandler& on_events,
                            std::stop_token stop) const {
  WatchCursor cursor(start_revision);
  size_t index = preferred_->load() % endpoints_.size();
  auto rounds_until = std::chrono::steady_clock::now() + failover_window();
  std::vector<Error> failures;  // since the last stream that served
  bool renewed = false;          // the token was renewed since then
  for (size_t failed = 0;;) {
    Result<std::string> sent_token = token();
    if (!sent_token) return std::move(sent_token.error());
    WatchAttempt attempt = watch_endpoint(endpoints_[index], prefix, cursor, on_events, stop, *sent_token);
    if (!renewed && !attempt.status && renewed_after_refusal(attempt, *sent_token)) {
      renewed = true;
      continue;  // the same member again, with the new token
    }
    if (next_watch_step(attempt.end) == WatchStep::Return)
      return attempt.status ? std::move(attempt.status) : explain(std::move(attempt.status.error()));
    if (attempt.created) {  // it served, then broke: a new break, a new window to resume in
      failed = 0;
      renewed = false;
      failures.clear();
      rounds_until = std::chrono::steady_clock::now() + failover_window();
    }
    failures.push_back(std::move(attempt.status.error()));
    index = (index + 1) % endpoints_.size();
    if (++failed % endpoints_.size() == 0) {
      if (std::chrono::steady_clock::now() >= rounds_until) break;
      pause_unless_stopped(kPauseBetweenRounds, stop);
    }
    if (stop.stop_requested()) return {};
    spdlog::warn("etcd: {}; resuming the watch from revision {} at {}", failures.back().message,
                 cursor.next_revision(), endpoints_[index]);
  }
  std::string joined;
  for (const Error& failure : failures) joined += (joined.empty() ? "" : "; ") + failure.message;
  return make_error(ErrorCode::Network,
                    "no etcd member served the watch of " + std::string(prefix) + " from revision " +
                        std::to_string(cursor.next_revision()) + ": " + joined,
                    unreachable_hint(endpoints_.front()));
}

bool Client::renewed_after_refusal(const WatchAttempt& attempt, const std::string& token) const {
  AuthRefusal refusal = auth_refusal(attempt.status.error().message);
  // etcd 3.4 cancels a watch whose token is no longer valid as "permission denied".
  if (!auth_ || !(needs_new_token(refusal) || refusal == AuthRefusal::PermissionDenied)) return false;
  Result<std::string> renewed = renew_token(token);
  if (!renewed) spdlog::warn("etcd: authenticating again for a watch failed: {}", renewed.error().message);
  return renewed.has_value();
}

Client::WatchAttempt Client::watch_endpoint(const std::string& endpoint, std::string_view prefix, WatchCursor& cursor,
                                            const WatchHandler& on_events, std::stop_token stop,
                                            const std::string& token) const {
  std::string what = "etcd at " + endpoint + ": watching " + std::string(prefix);
  base::CurlHandle curl(curl_easy_init());
  if (!curl) return {StreamEnd::Refused, false, make_error(ErrorCode::Internal, "curl_easy_init failed")};
  std::string url = endpoint + "/v3/watch";
  std::string payload = watch_request(prefix, cursor.next_revision()).dump();
  WatchStream stream{on_events, cursor, std::move(stop), {}, false, std::nullopt, std::nullopt};
  // etcd's require-leader metadata (the gateway passes Grpc-Metadata-* headers on): a
  // member cut off from the others ends the stream with "no leader" instead of staying
  // silent, so the watch resumes at one that still hears the changes.
  base::CurlHeaders headers(with_token(
      curl_slist_append(curl_slist_append(nullptr, "Content-Type: application/json"), "Grpc-Metadata-hasleader: true"),
      token));
  prepare_post(curl.get(), url, payload, headers.get(), security_, timeout_);  // no overall timeout: it streams
  // A member that vanishes without closing the connection (host lost, link cut) is found
  // by TCP keep-alives, since an idle watch carries nothing.
  curl_easy_setopt(curl.get(), CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TCP_KEEPIDLE, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_TCP_KEEPINTVL, 5L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, take_watch_bytes);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &stream);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, check_watch_stop);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &stream);
  CURLcode rc = curl_easy_perform(curl.get());
  // A complete answer may end without a newline (an error instead of a stream); a broken
  // one leaves a message cut short, which is only a break.
  if (rc == CURLE_OK && !stream.end && !stream.pending.empty()) stream.take_line(stream.pending);
  if (stream.end == StreamEnd::ByCaller) return {StreamEnd::ByCaller, stream.created, {}};
  if (stream.end) return {*stream.end, stream.created, std::move(*stream.failure).wrap(what)};
  std::string why = rc != CURLE_OK ? curl_easy_strerror(rc) : "etcd ended the stream";
  return {StreamEnd::Broken, stream.created, make_error(ErrorCode::Network, what + ": " + why, unreachable_hint(endpoint))};
}

}  // namespace dockmig::etcd
