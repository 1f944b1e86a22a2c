#include "memory/container_memory.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

namespace dockmig::memory {
namespace {

constexpr int kAttachAttempts = 3;  // a process busy with a signal is tried again next round

}  // namespace

std::string_view to_string(Tracking tracking) { return tracking == Tracking::WriteProtect ? "uffd-wp" : "page-hash"; }

Tracking best_tracking() {
  static const Tracking best = [] {
    Status supported = write_tracking_supported();
    if (supported) return Tracking::WriteProtect;
    spdlog::info("pre-copy finds changed pages by their hashes: {}", supported.error().message);
    return Tracking::PageHash;
  }();
  return best;
}

Status ContainerMemory::read_round(const PageVisitor& visit, RoundRead& read) {
  if (in_our_pid_namespace(init_pid_))
    return make_error(ErrorCode::Unsupported, "process " + std::to_string(init_pid_) +
                                                  " shares dockmig's pid namespace: pre-copy reads a container's own "
                                                  "processes only (is it started with --pid host?)");
  Result<std::vector<int>> pids = namespace_processes(init_pid_);
  if (!pids) return std::move(pids.error());
  std::set<int> alive(pids->begin(), pids->end());
  std::erase_if(trackers_, [&](const auto& entry) { return !alive.contains(entry.first); });
  processes_seen_ = std::max(processes_seen_, pids->size());
  for (int pid : *pids) {
    int thread = live_thread(pid);  // a process's pid names no memory once its main thread exited
    std::vector<PageRange> ranges = dumpable_ranges(thread);
    SkipPages skip;
    if (WriteTracker* tracker = tracker_of(pid, read)) {
      ranges = tracker->changed(ranges);
      // A page written again since the round began would be stale on arrival: the next
      // round (or the freeze) sends it anyway, so this one leaves it out.
      skip = [tracker](const PageRange& batch) { return tracker->written_again({batch}).value_or(std::vector<PageRange>{}); };
    }
    Status visited = read_process_ranges(thread, ranges, visit, read.scan, skip);
    if (!visited) return visited;
  }
  return {};
}

std::optional<uint64_t> ContainerMemory::pages_written_since() const {
  if (tracking_ != Tracking::WriteProtect || !untracked_.empty()) return std::nullopt;
  Result<std::vector<int>> pids = namespace_processes(init_pid_);
  if (!pids) return std::nullopt;
  uint64_t pages = 0;
  for (int pid : *pids) {
    auto tracker = trackers_.find(pid);
    if (tracker == trackers_.end()) return std::nullopt;  // new since the round: not tracked yet
    std::optional<uint64_t> written = tracker->second.pages_written(dumpable_ranges(live_thread(pid)));
    if (!written) return std::nullopt;
    pages += *written;
  }
  return pages;
}

ProcessPages ContainerMemory::written_since_last_round() const {
  ProcessPages pages;
  for (const auto& [pid, tracker] : trackers_) {
    std::optional<std::vector<PageRange>> written = tracker.written_again(dumpable_ranges(live_thread(pid)));
    if (written && !written->empty()) pages.emplace_back(pid, std::move(*written));
  }
  return pages;
}

Status read_pages(const ProcessPages& pages, const PageVisitor& visit, ScanStats& stats) {
  for (const auto& [pid, ranges] : pages)
    if (Status read = read_process_ranges(live_thread(pid), ranges, visit, stats); !read) return read;
  return {};
}

WriteTracker* ContainerMemory::tracker_of(int pid, RoundRead& read) {
  if (tracking_ != Tracking::WriteProtect || untracked_.contains(pid)) return nullptr;
  if (auto found = trackers_.find(pid); found != trackers_.end()) return &found->second;
  std::chrono::duration<double> stopped{};
  Result<WriteTracker> tracker = WriteTracker::attach(pid, stopped);
  read.longest_stop = std::max(read.longest_stop, stopped);
  if (tracker) {
    spdlog::debug("tracking the writes of process {} (stopped {:.2f} ms)", pid, stopped.count() * 1000);
    return &trackers_.emplace(pid, std::move(*tracker)).first->second;
  }
  if (tracker.error().code == ErrorCode::NotFound) return nullptr;  // it exited: nothing to read either
  bool retry = tracker.error().code == ErrorCode::Interrupted && ++attempts_[pid] < kAttachAttempts;
  if (!retry) {
    spdlog::warn("pre-copy reads all of process {} each round: {}", pid, tracker.error().message);
    untracked_[pid] = tracker.error().message;
  }
  return nullptr;
}

std::string ContainerMemory::tracking_used() const {
  std::string used(to_string(tracking_));
  if (untracked_.empty()) return used;
  return used + "; page-hash for " + std::to_string(untracked_.size()) + " of " + std::to_string(processes_seen_) +
         " processes: " + untracked_.begin()->second;
}

}  // namespace dockmig::memory
