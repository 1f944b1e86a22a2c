#include "migrate/warm_store.h"

namespace dockmig::migrate {

void WarmStore::put(const std::string& container_id, WarmState state) {
  std::lock_guard lock(mutex_);
  auto old = states_.find(container_id);
  if (old != states_.end()) {
    std::error_code ignored;
    std::filesystem::remove_all(old->second.work, ignored);
  }
  states_[container_id] = std::move(state);
}

std::optional<WarmState> WarmStore::take(const std::string& container_id, const std::string& destination) {
  std::lock_guard lock(mutex_);
  auto found = states_.find(container_id);
  if (found == states_.end() || found->second.destination != destination) return std::nullopt;
  WarmState state = std::move(found->second);
  states_.erase(found);
  return state;
}

WarmStore& warm_store() {
  static WarmStore store;
  return store;
}

}  // namespace dockmig::migrate
