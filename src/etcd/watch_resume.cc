#include "etcd/watch_resume.h"

namespace dockmig::etcd {
namespace {

constexpr int kGrpcUnavailable = 14;

}  // namespace

std::vector<WatchEvent> WatchCursor::take(WatchMessage message) {
  if (message.created && next_ == 0) next_ = message.revision + 1;
  std::vector<WatchEvent> unseen;
  for (WatchEvent& event : message.events) {
    if (event.kv.mod_revision < next_) continue;  // a stream never repeats one; kept out should one ever
    unseen.push_back(std::move(event));
  }
  // Events come in revision order; several may share one (a transaction's).
  if (!unseen.empty()) next_ = unseen.back().kv.mod_revision + 1;
  return unseen;
}

WatchStep next_watch_step(StreamEnd end) {
  return end == StreamEnd::Broken ? WatchStep::ResumeOnNextMember : WatchStep::Return;
}

StreamEnd end_of_cancel(const WatchMessage& message) {
  return message.compact_revision > 0 ? StreamEnd::Compacted : StreamEnd::Cancelled;
}

StreamEnd end_of_error(int grpc_code, std::string_view message) {
  bool cannot_serve = grpc_code == kGrpcUnavailable || message.find("no leader") != std::string_view::npos;
  return cannot_serve ? StreamEnd::Broken : StreamEnd::Refused;
}

}  // namespace dockmig::etcd
