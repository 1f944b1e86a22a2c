// `dockmig fleet watch [SERVICE...]`: where services run, as it changes: the current
// state, then one line per change of owner until SIGINT or SIGTERM (fleet/ownership_watch.h).
#include <cstdio>
#include <stop_token>

#include "cli/signal_watcher.h"
#include "cli/verbs.h"
#include "etcd/client.h"
#include "fleet/ownership_watch.h"

namespace dockmig::cli {
namespace {

struct WatchOptions {
  fleet::FollowRequest request;
  std::string etcd;
  etcd::ClientSecurity security;
  bool json = false;
};

void print(const std::vector<fleet::OwnershipChange>& changes, bool as_json) {
  for (const fleet::OwnershipChange& change : changes)
    std::printf("%s\n", as_json ? fleet::to_json(change).dump().c_str() : fleet::to_text(change).c_str());
  std::fflush(stdout);  // a line as it happens, also into a pipe
}

int run_watch(const WatchOptions& options) {
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.security);
  if (!etcd) return report_error(std::move(etcd.error()).wrap("--etcd"));
  std::stop_source stop;
  SignalWatcher signals([&stop](int) { stop.request_stop(); });
  Status followed = fleet::follow_ownership(
      *etcd, options.request, [&](const std::vector<fleet::OwnershipChange>& changes) { print(changes, options.json); },
      stop.get_token());
  if (followed) return kExitSuccess;
  if (followed.error().code == ErrorCode::Conflict && options.request.after_revision > 0)
    return report_error(std::move(followed.error())
                            .with_hint("watch again without --after-revision: it then starts with where each service runs now"));
  return report_error(std::move(followed.error()));
}

}  // namespace

VerbRunner define_fleet_watch(CLI::App& fleet) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* command = fleet.add_subcommand("watch", "Print where services run, and each change of owner as it happens");
  command->add_option("services", options->request.services, "The services' container names (default: every service)");
  command->add_option("--after-revision", options->request.after_revision,
                      "Only the changes after this revision (the last line's), without the current state:\n"
                      "to go on after a watch that ended")
      ->check(CLI::Validator(
          [](std::string& text) {
            Result<int64_t> revision = fleet::parse_revision(text);
            return revision ? std::string() : revision.error().message + ": " + revision.error().hint;
          },
          "REVISION"));
  add_etcd_options(*command, options->etcd, options->security)->required();
  command->add_flag("--json", options->json, "One JSON object a line: service, from, to, revision, current");
  command->footer("First the owner of each service as its ownership record says now (`svc: on edge-a\n"
                  "since revision 12`), then one line per handoff committed (`svc: edge-a -> edge-b at\n"
                  "revision 42`), until SIGINT or SIGTERM (exit 0). With several --etcd URLs the watch\n"
                  "goes on at another member when its member dies, missing and repeating nothing.\n"
                  "--after-revision R prints only the changes after revision R, each once; when etcd\n"
                  "has compacted its history there, it fails (exit 1): watch again without it.\n"
                  "Example: dockmig fleet watch --etcd http://10.77.9.1:2379 --json");
  return [options]() -> int { return run_watch(*options); };
}

}  // namespace dockmig::cli
