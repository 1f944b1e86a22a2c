// `dockmig recover`: settles the migrations this host left in doubt as their source (a
// `dockmig migrate` or a handoff killed after the freeze), from the journal in the state
// dir and the destinations' answers. The agent does the same when it starts.
#include <cstdio>

#include "cli/verbs.h"
#include "migrate/recovery.h"

namespace dockmig::cli {

VerbRunner define_recover(CLI::App& command) {
  auto request = std::make_shared<migrate::RecoveryRequest>();
  auto state_dir = std::make_shared<std::string>(request->state_dir.string());
  auto as_json = std::make_shared<bool>(false);
  command.add_option("--state-dir", *state_dir, "The state dir the migrations ran with (their journal is in it)")
      ->capture_default_str();
  command.add_option("--resume", request->resume,
                     "Resume NAME here from its checkpoint, after you checked that it does not run at\n"
                     "the destination (a container name or id, or a migration id)")->type_name("NAME");
  command.add_option("--abandon", request->abandon,
                     "Forget NAME and leave its container here as it is, after you checked that it\n"
                     "runs at the destination")->type_name("NAME");
  add_transport_options(command, request->security);
  auto fleet = std::make_shared<FleetIdentity>();
  add_fleet_options(command, *fleet)
      ->description("The fleet's etcd client URLs, URL[,URL...]: a source whose checkpoint crossed\n"
                    "resumes only once its service's ownership record names this host and is fenced\n"
                    "(written back, so no late swap of the destination's applies), also with --resume;\n"
                    "when the destination cannot be asked, that record decides");
  command.add_flag("--json", *as_json, "Print the outcome as one JSON object on stdout");
  command.footer(
      "A migration is in doubt when its `dockmig migrate` (or agent handoff) died after the\n"
      "container was frozen. For each one, recover does what the migration would have done:\n"
      "  - the checkpoint never crossed: the destination cannot run a copy; resume it here;\n"
      "  - it was crossing: ask the destination's agent how it ended (its ledger outlives\n"
      "    restarts): committed -> the source ends as after a migration (removed, or kept\n"
      "    with --keep-source); aborted or never arrived -> resume it here;\n"
      "  - the destination cannot be asked: leave it stopped and say what to check. Run\n"
      "    recover again once that agent is back, or settle it with --resume or --abandon.\n"
      "It never guesses, and leaves alone a migration that a running dockmig still holds.\n"
      "Exit status: 0 nothing left in doubt; 1 failed; 2 bad input (no migration has that\n"
      "NAME); 3 some migration is still in doubt (the `next:` line says what to do).\n"
      "Example: dockmig recover --tls-cert edge-a.pem --tls-key edge-a-key.pem --tls-ca ca.pem");
  return [request, state_dir, as_json, fleet]() -> int {
    request->state_dir = *state_dir;
    Result<std::shared_ptr<const migrate::Ownership>> ownership = open_ownership(*fleet);
    if (!ownership) return report_error(ownership.error());
    request->ownership = *ownership;
    Result<migrate::RecoveryReport> report = migrate::recover_sources(*request);
    if (!report) return report_error(report.error());
    if (*as_json) std::printf("%s\n", migrate::to_json(*report).dump(2).c_str());
    else std::printf("%s", migrate::to_text(*report).c_str());
    return report->in_doubt() ? kExitNeedsAttention : kExitSuccess;
  };
}

}  // namespace dockmig::cli
