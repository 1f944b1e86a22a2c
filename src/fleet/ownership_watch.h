// Where services run, followed in etcd: the ownership records read once, then a watch of
// /dockmig/services/ from the revision after that read, read again whenever etcd has
// compacted the history the watch would resume from. Shared by `fleet watch` and the
// agent's GET /v1/fleet/watch (docs/fleet.md, "The gateway's view").
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "dockmig/result.h"
#include "etcd/client.h"
#include "fleet/ownership_changes.h"

namespace dockmig::fleet {

using OwnershipHandler = std::function<void(const std::vector<OwnershipChange>&)>;

/// Hands `on_changes` the owner of each of `services` (none: every service) as read now,
/// once and even when there is none, then each change of owner as it commits, until
/// `stop` is requested (a success). Blocks. The watch resumes at the next member when
/// its member dies (etcd::Client::watch_prefix). Errors: the records cannot be read, or
/// no member serves the watch.
Status follow_ownership(const etcd::Client& etcd, const std::vector<std::string>& services,
                        const OwnershipHandler& on_changes, std::stop_token stop);

}  // namespace dockmig::fleet
