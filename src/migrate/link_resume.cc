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
    entries_[migration] = Entry{token, identity, std::move(break_link), std::nullopt};
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
}

Result<transfer::Connection> LinkResumes::await(const std::string& migration, std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto found = entries_.find(migration);
  if (found == entries_.end()) return make_error(ErrorCode::Internal, "migration " + migration + " cannot resume");
  found->second.waiting = true;
  bool came = offered_.wait_for(lock, grace, [&] { return found->second.offered.has_value(); });
  found->second.waiting = false;
  if (!came)
    return make_error(ErrorCode::Timeout, "the source did not come back within " +
                                              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(grace).count()) +
                                              " s");
  transfer::Connection connection = std::move(*found->second.offered);
  found->second.offered.reset();
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
    if (identity != found->second.identity)
      return make_error(ErrorCode::InvalidInput, "migration " + migration + " began with the certificate of `" +
                                                     found->second.identity + "`, not of `" + identity + "`");
    replaced = std::move(found->second.offered);
    found->second.offered = take();
    // The session may not have noticed yet that its link is gone: it would wait out the
    // silence (or TCP's retransmissions) before looking here.
    if (!found->second.waiting) found->second.break_link();
  }
  offered_.notify_all();
  return {};
}

LinkResumes& link_resumes() {
  static LinkResumes registry;
  return registry;
}

}  // namespace dockmig::migrate
