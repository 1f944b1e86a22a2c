// `dockmig fleet watch [SERVICE...]`: where services run, as it changes. Reads the
// ownership records once (the current state), then watches /dockmig/services/ from the
// revision after that read, printing one line per change of owner until SIGINT or
// SIGTERM. The watch resumes at another etcd member when its member dies (etcd::Client);
// when etcd compacted the history it would resume from, the records are read again and
// what changed meanwhile is printed as found.
#include <cstdio>
#include <stop_token>

#include <spdlog/spdlog.h>

#include "cli/signal_watcher.h"
#include "cli/verbs.h"
#include "etcd/client.h"
#include "fleet/ownership_changes.h"
#include "fleet/service_record.h"

namespace dockmig::cli {
namespace {

struct WatchOptions {
  std::vector<std::string> services;
  std::string etcd;
  etcd::ClientTls tls;
  bool json = false;
};

void print(const std::vector<fleet::OwnershipChange>& changes, bool as_json) {
  for (const fleet::OwnershipChange& change : changes)
    std::printf("%s\n", as_json ? fleet::to_json(change).dump().c_str() : fleet::to_text(change).c_str());
  std::fflush(stdout);  // a line as it happens, also into a pipe
}

int run_watch(const WatchOptions& options) {
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.tls);
  if (!etcd) return report_error(std::move(etcd.error()).wrap("--etcd"));
  std::stop_source stop;
  SignalWatcher signals([&stop](int) { stop.request_stop(); });
  fleet::OwnershipFollower follower(options.services);
  while (!stop.stop_requested()) {
    Result<etcd::RangeAnswer> state = etcd->get_prefix_at(fleet::kServicesPrefix);
    if (!state) return report_error(std::move(state.error()).wrap("reading the fleet's ownership records"));
    print(follower.read(state->kvs, state->revision), options.json);
    Status watched = etcd->watch_prefix(
        fleet::kServicesPrefix, state->revision + 1,
        [&](const std::vector<etcd::WatchEvent>& events) {
          print(follower.apply(events), options.json);
          return true;
        },
        stop.get_token());
    if (watched) break;
    if (watched.error().code != ErrorCode::Conflict)
      return report_error(std::move(watched.error()).wrap("watching the fleet's ownership records"));
    spdlog::warn("{}; reading the records again", watched.error().message);
  }
  return kExitSuccess;
}

}  // namespace

VerbRunner define_fleet_watch(CLI::App& fleet) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* command = fleet.add_subcommand("watch", "Print where services run, and each change of owner as it happens");
  command->add_option("services", options->services, "The services' container names (default: every service)");
  add_etcd_options(*command, options->etcd, options->tls)->required();
  command->add_flag("--json", options->json, "One JSON object a line: service, from, to, revision, current");
  command->footer("First the owner of each service as its ownership record says now (`svc: on edge-a\n"
                  "since revision 12`), then one line per handoff committed (`svc: edge-a -> edge-b at\n"
                  "revision 42`), until SIGINT or SIGTERM (exit 0). With several --etcd URLs the watch\n"
                  "goes on at another member when its member dies, missing and repeating nothing.\n"
                  "Example: dockmig fleet watch --etcd http://10.77.9.1:2379 --json");
  return [options]() -> int { return run_watch(*options); };
}

}  // namespace dockmig::cli
