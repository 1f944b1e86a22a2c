#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "dockmig/migration.h"
#include "dockmig/result.h"
#include "etcd/client.h"

namespace dockmig::cli {

/// Exit statuses of the dockmig command (docs/error-handling.md).
enum ExitStatus : int {
  kExitSuccess = 0,
  kExitFailure = 1,         // failed; the source container is running
  kExitBadInput = 2,
  kExitNeedsAttention = 3,  // the state could not be made safe by itself; see the message
  kExitInterrupted = 130,
};

/// A verb adds its options to its subcommand and returns what runs it.
using VerbRunner = std::function<int()>;
struct Verb {
  const char* name;
  const char* summary;
  VerbRunner (*define)(CLI::App& command);
};

VerbRunner define_certs(CLI::App& command);
VerbRunner define_doctor(CLI::App& command);
VerbRunner define_fleet(CLI::App& command);
/// `fleet handoff`, a subcommand of `command` (fleet_handoff.cc).
VerbRunner define_fleet_handoff(CLI::App& command);
VerbRunner define_fleet_watch(CLI::App& command);
VerbRunner define_inspect(CLI::App& command);
VerbRunner define_migrate(CLI::App& command);
VerbRunner define_recover(CLI::App& command);
VerbRunner define_serve(CLI::App& command);

/// --tls-cert, --tls-key, --tls-ca and --insecure (serve.cc), for `serve` and `migrate`.
void add_transport_options(CLI::App& command, TransportSecurity& security);

/// --etcd URLS (also from DOCKMIG_ETCD), its TLS files, and --etcd-user with
/// --etcd-password-file (fleet.cc), for `serve` and `fleet`.
CLI::Option* add_etcd_options(CLI::App& command, std::string& endpoints, etcd::ClientSecurity& security);

/// This host in the fleet, for `migrate` and `recover`: with --etcd they go by the
/// services' ownership records (docs/fleet.md, "Ownership").
struct FleetIdentity {
  std::string etcd;
  etcd::ClientSecurity security;
  std::string name;  // --fleet-name; "" = the hostname
};
/// --etcd with its TLS and auth options, and --fleet-name (fleet.cc).
CLI::Option* add_fleet_options(CLI::App& command, FleetIdentity& fleet);
/// The ownership records with --etcd; null without.
Result<std::shared_ptr<const migrate::Ownership>> open_ownership(const FleetIdentity& fleet);

/// What --bind-map and --copy-bind said, before parsing.
struct BindOptionTexts {
  std::vector<std::string> bind_map;    // SRC=DST
  std::vector<std::string> copy_binds;  // SRC
};
/// --bind-map and --copy-bind (migrate.cc), for `migrate` and `inspect`.
void add_bind_options(CLI::App& command, BindOptionTexts& texts);
/// Parses them into `request.bind_map` and `request.copy_binds`.
Status read_bind_options(const BindOptionTexts& texts, MigrationRequest& request);

/// Prints `dockmig: error: …` with its hint and detail; returns the matching exit status.
int report_error(const Error& error);
/// For `serve`: info and up, and with text logs each line's time.
void use_agent_logging();

}  // namespace dockmig::cli
