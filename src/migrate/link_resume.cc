#include "migrate/link_resume.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "migrate/session.h"

namespace dockmig::migrate {

bool valid_resume_token(const std::string& token) {
  return token.size() == 32 &&
         std::all_of(token.begin(), token.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string new_resume_token() { return new_session_id() + new_session_id(); }

std::shared_ptr<void> LinkResumes::open(const std::string& migration, const std::string& token,
                                        const std::string& identity, std::function<void()> break_link) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry entry;
    entry.token = token;
    entry.identity = identity;
    entry.break_link = std::move(break_link);
    entries_[migration] = std::move(entry);
  }
  return std::shared_ptr<void>(nullptr, [this, migration](void*) { close(migration); });
}

void LinkResumes::close(const std::string& migration) {
  std::optional<transfer::Connection> unused;  // closed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(migration);
  if (found == entries_.end()) return;
  unused = std::move(found->second.offered);
  entries_.erase(found);
  changed_.notify_all();
}

void LinkResumes::name_source(const std::string& migration, const std::string& source_container,
                              const std::string& peer) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(migration);
  if (found == entries_.end()) return;
  found->second.source_container = source_container;
  found->second.peer = peer;
}

void LinkResumes::pass_freeze(const std::string& migration) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(migration);
  if (found != entries_.end()) found->second.frozen = true;
}

std::map<std::string, LinkResumes::Entry>::iterator LinkResumes::earlier_session(const std::string& source_container,
                                                                                  const std::string& peer,
                                                                                  const std::string& by) {
  return std::find_if(entries_.begin(), entries_.end(), [&](const auto& entry) {
    return entry.first != by && !entry.second.source_container.empty() &&
           entry.second.source_container == source_container && entry.second.peer == peer;
  });
}

namespace {

Error past_freeze(const std::string& migration) {
  return make_error(ErrorCode::Conflict,
                    "migration " + migration + " of this container is here still, past its freeze: its source may "
                    "hold the container stopped for it, so only that source (or the end of its grace, " +
                        std::to_string(kDestinationGrace.count()) + " s at most) may end it",
                    "retry once it ended; `dockmig recover` on the source settles it");
}

Error still_under_way(const std::string& migration, bool superseded) {
  return make_error(ErrorCode::Conflict,
                    "migration " + migration + " of this container is still under way here" +
                        (superseded ? ": it was superseded but has not rolled back yet" : ", its source connected"),
                    "retry once it ended");
}

}  // namespace

Status LinkResumes::supersede(const std::string& source_container, const std::string& peer, const std::string& by,
                              std::chrono::milliseconds settle) {
  if (source_container.empty()) return {};
  auto until = std::chrono::steady_clock::now() + settle;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto earlier = earlier_session(source_container, peer, by);
    if (earlier == entries_.end()) return {};
    Entry& entry = earlier->second;
    if (entry.frozen) return past_freeze(earlier->first);
    if (entry.waiting && entry.superseded_by.empty()) {
      entry.superseded_by = by;
      changed_.notify_all();
    }
    // Copied: the entry may be gone once the lock is let go.
    std::string migration = earlier->first;
    bool superseded = !entry.superseded_by.empty();
    if (changed_.wait_until(lock, until) == std::cv_status::no_timeout) continue;
    if (earlier_session(source_container, peer, by) == entries_.end()) return {};
    return still_under_way(migration, superseded);
  }
}

Result<transfer::Connection> LinkResumes::await(const std::string& migration, std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto found = entries_.find(migration);
  if (found == entries_.end()) return make_error(ErrorCode::Internal, "migration " + migration + " cannot resume");
  Entry& entry = found->second;
  entry.waiting = true;
  changed_.notify_all();
  bool came = changed_.wait_for(lock, grace, [&] { return entry.offered.has_value() || !entry.superseded_by.empty(); });
  entry.waiting = false;
  if (!entry.superseded_by.empty())
    return make_error(ErrorCode::Conflict, "a new migration (" + entry.superseded_by +
                                               ") of the same container came from the same source; this one rolls back");
  if (!came)
    return make_error(ErrorCode::Timeout, "the source did not come back within " +
                                              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(grace).count()) +
                                              " s");
  transfer::Connection connection = std::move(*entry.offered);
  entry.offered.reset();
  return connection;
}

Status LinkResumes::offer(const std::string& migration, const std::string& token, const std::string& identity,
                          const std::function<transfer::Connection()>& take) {
  std::optional<transfer::Connection> replaced;  // an earlier offer nobody took: closed outside the lock
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = entries_.find(migration);
    bool known = found != entries_.end() && token.size() == found->second.token.size() &&
                 CRYPTO_memcmp(token.data(), found->second.token.data(), token.size()) == 0;
    if (!known)
      return make_error(ErrorCode::NotFound, "no migration " + migration + " waits here for its link to resume",
                        "it ended here (rolled back after its grace period, or the agent restarted)");
    if (!found->second.superseded_by.empty())
      return make_error(ErrorCode::NotFound, "migration " + migration + " was superseded here by migration " +
                                                 found->second.superseded_by + " of the same container");
    if (identity != found->second.identity)
      return make_error(ErrorCode::InvalidInput, "migration " + migration + " began with the certificate of `" +
                                                     found->second.identity + "`, not of `" + identity + "`");
    replaced = std::move(found->second.offered);
    found->second.offered = take();
    // The session may not have noticed yet that its link is gone: it would wait out the
    // silence (or TCP's retransmissions) before looking here.
    if (!found->second.waiting) found->second.break_link();
  }
  changed_.notify_all();
  return {};
}

bool LinkResumes::superseded(const std::string& migration) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(migration);
  return found != entries_.end() && !found->second.superseded_by.empty();
}

LinkResumes& link_resumes() {
  static LinkResumes registry;
  return registry;
}

}  // namespace dockmig::migrate
