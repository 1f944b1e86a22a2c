#include "agent/ownership_feed.h"

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"

namespace dockmig::agent {
namespace {

std::string line_of(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json error_object(const Error& error) {
  nlohmann::json body = {{"message", error.message}};
  if (!error.hint.empty()) body["hint"] = error.hint;
  return {{"error", body}};
}

}  // namespace

OwnershipFeed::OwnershipFeed(const FleetBackend& fleet, fleet::FollowRequest request)
    : thread_([this, &fleet, request = std::move(request)](std::stop_token stop) { run(fleet, request, stop); }) {}

void OwnershipFeed::run(const FleetBackend& fleet, const fleet::FollowRequest& request, std::stop_token stop) {
  Status followed = base::contain_exceptions("following the fleet's ownership records", [&] {
    return fleet.follow(request, [this](const std::vector<fleet::OwnershipChange>& changes) { push(changes); }, stop);
  });
  end(followed ? std::nullopt : std::optional<Error>(std::move(followed.error())));
}

void OwnershipFeed::push(const std::vector<fleet::OwnershipChange>& changes) {
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    first_read_ = true;
    for (const fleet::OwnershipChange& change : changes) lines_.push_back(line_of(fleet::to_json(change)));
    if (lines_.size() > kMaxPendingLines) {
      // Ended here rather than by the watch: the client will never catch up.
      ended_ = true;
      failure_ = make_error(ErrorCode::Timeout, "the client read too slowly: " + std::to_string(lines_.size()) +
                                                    " changes were waiting for it",
                            "watch again; its first lines are the owners as they are then");
      lines_.resize(kMaxPendingLines);
      lines_.push_back(line_of(error_object(*failure_)));
    }
  }
  changed_.notify_all();
}

void OwnershipFeed::end(std::optional<Error> failure) {
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
    if (failure) {
      failure_ = std::move(failure);
      lines_.push_back(line_of(error_object(*failure_)));
    }
  }
  changed_.notify_all();
}

std::optional<Error> OwnershipFeed::wait_first_read() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return first_read_ || ended_; });
  if (first_read_) return std::nullopt;
  return failure_ ? failure_ : make_error(ErrorCode::Interrupted, "the watch was stopped before its first read");
}

OwnershipFeed::Taken OwnershipFeed::take(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return !lines_.empty() || ended_; });
  Taken taken{{lines_.begin(), lines_.end()}, ended_};
  lines_.clear();
  return taken;
}

std::optional<Error> OwnershipFeed::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void OwnershipFeed::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace dockmig::agent
