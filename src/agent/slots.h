// A counted set of places, e.g. for sessions served at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace dockmig::agent {

class Slots {
 public:
  explicit Slots(int capacity) : free_(capacity) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  /// Takes a place once one is free, waiting up to `wait`; false when none came free.
  bool acquire_for(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, wait, [&] { return free_ > 0; })) return false;
    --free_;
    return true;
  }
  bool try_acquire() {
    std::lock_guard lock(mutex_);
    if (free_ == 0) return false;
    --free_;
    return true;
  }
  void release() {
    { std::lock_guard lock(mutex_); ++free_; }
    changed_.notify_all();
  }
  void wait_idle(int capacity) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return free_ == capacity; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int free_;
};

/// One place taken from `slots`, given back when this ends (or at release()).
class Place {
 public:
  explicit Place(Slots& taken) : slots_(&taken) {}
  Place(const Place&) = delete;
  Place& operator=(const Place&) = delete;
  ~Place() { release(); }
  void release() {
    if (slots_ != nullptr) slots_->release();
    slots_ = nullptr;
  }

 private:
  Slots* slots_;
};

/// What a link holds while it is served: a handshake place until its peer has said who it
/// is, then a session place.
struct LinkSlots {
  Slots& handshakes;
  Slots& sessions;
};

}  // namespace dockmig::agent
