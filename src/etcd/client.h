#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "etcd/failover.h"
#include "etcd/watch_resume.h"
#include "etcd/wire.h"

namespace dockmig::etcd {

/// How this client and etcd trust each other; empty fields: none of it. TLS (https://
/// endpoints): the CA that signed etcd's certificate, and this client's certificate and
/// key when etcd asks for one (--client-cert-auth). Auth (etcd's user/password auth): the
/// user, and the file whose first line is its password.
struct ClientSecurity {
  std::string ca;
  std::string cert;
  std::string key;
  std::string user;
  std::string password_file;
};

struct AuthSession;

/// The only code that speaks to etcd: its v3 JSON gateway over HTTP (libcurl), one short
/// request per call. Safe to use from several threads at once.
class Client {
 public:
  /// `endpoints` is one client URL or several, comma-separated ("http://10.77.9.1:2379"),
  /// the members of one cluster. A call that one member did not take (no connection, no
  /// leader) goes to the next; one whose answer was lost goes again only if repeating it
  /// is safe (etcd/failover.h). With several members, rounds over them go on for
  /// `timeout` (an election takes a second or two); each request waits at most `timeout`.
  /// With a user, the first request authenticates (POST /v3/auth/authenticate) and every
  /// request carries the token; one that etcd refuses for its token (it expired, etcd
  /// restarted) authenticates again and goes once more.
  static Result<Client> open(std::string_view endpoints, ClientSecurity security = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  /// "http://a:2379" or "http://a:2379,http://b:2379", for messages.
  std::string endpoints_text() const;

  /// Writes `value` at `key`, under `lease` unless it is 0.
  Status put(std::string_view key, std::string_view value, LeaseId lease = 0) const;
  /// The key, or none when it does not exist.
  Result<std::optional<KeyValue>> get(std::string_view key) const;
  /// Every key that starts with `prefix`, in key order.
  Result<std::vector<KeyValue>> get_prefix(std::string_view prefix) const;
  /// The same and the store's revision it was read at: a watch from the revision after it
  /// sees every change since. With `revision` (> 0), the keys as they were at that
  /// revision (the answer's `revision` is still the store's now); Conflict when etcd has
  /// compacted that history away, InvalidInput when the store has not reached it.
  Result<RangeAnswer> get_prefix_at(std::string_view prefix, int64_t revision = 0) const;

  Result<Lease> grant_lease(std::chrono::seconds ttl) const;
  /// Renews the lease once; its TTL as renewed, or NotFound when it has already expired.
  Result<std::chrono::seconds> keep_alive(LeaseId lease) const;
  /// Ends the lease now, and with it every key it holds.
  Status revoke(LeaseId lease) const;

  /// Puts `value` at `key` only if the key's mod revision is still `expected_mod_revision`
  /// (0: only if the key does not exist), in one transaction: the commit of a handoff.
  /// Never sent twice blindly: when its answer is lost (a member died, the leader
  /// changed), the key is read back to learn whether it was applied, and the swap is sent
  /// again only if the key is still at `expected_mod_revision`. An error only when even
  /// that read fails: then its outcome is unknown.
  Result<SwapOutcome> put_if_mod_revision(std::string_view key, int64_t expected_mod_revision,
                                          std::string_view value, LeaseId lease = 0) const;

  /// Called with the events of each watch message; false ends the watch.
  using WatchHandler = std::function<bool(const std::vector<WatchEvent>&)>;
  /// Streams every change under `prefix` from `start_revision` (0: from now) to `on_events`
  /// until it returns false or `stop` is requested, both a success. Blocks the calling
  /// thread. A stream that breaks (its member died, lost its leader, or the connection
  /// ended) is opened again at the next member from the revision after the last one
  /// handed over, so no event is lost or repeated (etcd/watch_resume.h); rounds over the
  /// members go on for the client's timeout after each break, as for a call. Errors: no
  /// member took the watch, etcd refused or cancelled it, and Conflict when the revision
  /// to resume from was compacted away: then read the current state again
  /// (get_prefix_at) and watch from the revision after that read.
  Status watch_prefix(std::string_view prefix, int64_t start_revision, const WatchHandler& on_events,
                      std::stop_token stop) const;

  /// POSTs `body` to the gateway's `path` (e.g. "/v3/kv/range") and returns its answer;
  /// sent again to another member when its answer is lost, so only for requests that are
  /// safe to repeat.
  Result<nlohmann::json> call(std::string_view path, const nlohmann::json& body) const;

 private:
  struct Attempt {
    Result<nlohmann::json> answer;
    Delivery delivery;
  };

  Client(std::vector<std::string> endpoints, ClientSecurity security, std::string password,
         std::chrono::milliseconds timeout);
  Attempt call_endpoint(const std::string& endpoint, std::string_view path, const std::string& payload,
                        const std::string& token) const;
  /// The request with the token, sent again once with a new token when etcd refused the
  /// token; an auth refusal comes back with what to do.
  Attempt send(std::string_view path, const nlohmann::json& body, Repeat repeat) const;
  /// The request to the members in turn until one answers, or its answer is lost and
  /// `repeat` forbids sending it again.
  Attempt send_to_members(std::string_view path, const std::string& payload, Repeat repeat,
                          const std::string& token) const;

  /// The token to send: "" without a user or while etcd has auth off; authenticates the
  /// first time.
  Result<std::string> token() const;
  /// A new token after etcd refused `stale`; the one another thread got already, if any.
  Result<std::string> renew_token(const std::string& stale) const;
  /// POST /v3/auth/authenticate; the caller holds the session's lock.
  Result<std::string> authenticate() const;
  Error explain(Error error) const;

  struct WatchAttempt {
    StreamEnd end;
    bool created;  // the member confirmed the watch: it served, then broke
    Status status;
  };
  /// One stream of a watch at one member, from the cursor, moving it.
  WatchAttempt watch_endpoint(const std::string& endpoint, std::string_view prefix, WatchCursor& cursor,
                              const WatchHandler& on_events, std::stop_token stop, const std::string& token) const;
  /// Whether a failed stream was refused for its token: the token is then renewed.
  bool renewed_after_refusal(const WatchAttempt& attempt, const std::string& token) const;
  /// How long rounds over the members go on after a failure: none with a single member.
  std::chrono::milliseconds failover_window() const;

  std::vector<std::string> endpoints_;
  ClientSecurity security_;
  std::chrono::milliseconds timeout_;
  // The password and the token, shared by copies of this client; null without a user.
  std::shared_ptr<AuthSession> auth_;
  // The endpoint that answered last, tried first; shared by copies of this client.
  std::shared_ptr<std::atomic<size_t>> preferred_;
};

}  // namespace dockmig::etcd
