// Where services run, followed in etcd: the ownership records read once, then a watch of
// /dockmig/services/ from the revision after that read, read again whenever etcd has
// compacted the history the watch would resume from. A follower that reconnects names
// the last revision it saw and gets only the changes after it. Shared by `fleet watch`
// and the agent's GET /v1/fleet/watch (docs/fleet.md, "The gateway's view").
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "dockmig/result.h"
#include "etcd/client.h"
#include "fleet/ownership_changes.h"

namespace dockmig::fleet {

using OwnershipHandler = std::function<void(const std::vector<OwnershipChange>&)>;

/// What a follower asks for.
struct FollowRequest {
  std::vector<std::string> services;  // none: every service
  int64_t after_revision = 0;         // 0: the owners now first; else only the changes after it
};

/// Hands `on_changes` the owner of each service asked for as read now, once and even when
/// there is none (with `after_revision`: nothing, once, as soon as the records as they
/// were at that revision are read), then each change of owner as it commits, until `stop`
/// is requested (a success). Blocks. The watch resumes at the next member when its
/// member dies (etcd::Client::watch_prefix). Errors: the records cannot be read;
/// `after_revision` is compacted away (Conflict) or ahead of etcd (InvalidInput); no
/// member serves the watch.
Status follow_ownership(const etcd::Client& etcd, const FollowRequest& request, const OwnershipHandler& on_changes,
                        std::stop_token stop);

/// A revision as a follower gives it back (`after_revision=42`): a decimal integer >= 1.
Result<int64_t> parse_revision(std::string_view text);

}  // namespace dockmig::fleet
