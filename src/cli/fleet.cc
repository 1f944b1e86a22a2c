// `dockmig fleet ls|where` (and the verbs of fleet_handoff.cc, fleet_watch.cc): the gateway's view of the fleet, read from etcd: the hosts
// whose agents run with --etcd, and which of them runs a service.
#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/verbs.h"
#include "etcd/client.h"
#include "fleet/etcd_ownership.h"
#include "fleet/handoff_route.h"
#include "fleet/host_record.h"

namespace dockmig::cli {
namespace {

struct FleetOptions {
  std::string etcd;
  etcd::ClientSecurity security;
  std::string service;
  bool json = false;
};

void add_fleet_options(CLI::App& command, FleetOptions& options) {
  add_etcd_options(command, options.etcd, options.security)->required();
  command.add_flag("--json", options.json, "Print one JSON object");
}

Result<std::vector<fleet::HostRecord>> read_hosts(const FleetOptions& options) {
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.security);
  if (!etcd) return std::move(etcd.error()).wrap("--etcd");
  return fleet::list_hosts(*etcd);
}

nlohmann::json hosts_json(const std::vector<fleet::HostRecord>& hosts) {
  nlohmann::json list = nlohmann::json::array();
  for (const fleet::HostRecord& host : hosts) list.push_back(fleet::to_json(host));
  return list;
}

int list(const FleetOptions& options) {
  Result<std::vector<fleet::HostRecord>> hosts = read_hosts(options);
  if (!hosts) return report_error(hosts.error());
  if (options.json) std::printf("%s\n", nlohmann::json{{"hosts", hosts_json(*hosts)}}.dump(2).c_str());
  else if (hosts->empty()) std::printf("no hosts registered at %s\n", options.etcd.c_str());
  else std::printf("%s", fleet::to_text(*hosts).c_str());
  return kExitSuccess;
}

int where(const FleetOptions& options) {
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.security);
  if (!etcd) return report_error(std::move(etcd.error()).wrap("--etcd"));
  Result<fleet::ServiceLocation> location = fleet::locate_service(*etcd, options.service);
  if (!location) return report_error(location.error());
  if (!location->recorded)
    spdlog::warn("`{}` has no ownership record yet (never handed off in the fleet); found by the hosts' records",
                 options.service);
  if (options.json) {
    std::printf("%s\n", fleet::to_json(*location).dump(2).c_str());
  } else if (location->host) {
    std::printf("%s %s\n", location->record.host.c_str(), location->host->agent_address.c_str());
  } else {
    std::printf("%s -\n", location->record.host.c_str());
    spdlog::warn("`{}` is not in the fleet now: its agent is down or lost etcd", location->record.host);
  }
  return kExitSuccess;
}

}  // namespace

CLI::Option* add_etcd_options(CLI::App& command, std::string& endpoints, etcd::ClientSecurity& security) {
  CLI::Option* urls = command.add_option("--etcd", endpoints, "The fleet's etcd client URLs, URL[,URL...]")
                          ->envname("DOCKMIG_ETCD")->type_name("URLS");
  command.add_option("--etcd-ca", security.ca, "The CA of etcd's certificate, for https:// URLs (PEM)");
  command.add_option("--etcd-cert", security.cert, "A client certificate for etcd, when it asks for one (PEM)");
  command.add_option("--etcd-key", security.key, "The client certificate's key (PEM)");
  command.add_option("--etcd-user", security.user, "The etcd user, when etcd has auth enabled")
      ->envname("DOCKMIG_ETCD_USER")->type_name("NAME");
  command.add_option("--etcd-password-file", security.password_file,
                     "A file whose first line is --etcd-user's password (never on the command line)")
      ->envname("DOCKMIG_ETCD_PASSWORD_FILE")->type_name("FILE");
  return urls;
}

CLI::Option* add_fleet_options(CLI::App& command, FleetIdentity& fleet) {
  CLI::Option* urls = add_etcd_options(command, fleet.etcd, fleet.security);
  command.add_option("--fleet-name", fleet.name, "This host's name in the fleet, as its agent's --name (default: the hostname)");
  return urls;
}

Result<std::shared_ptr<const migrate::Ownership>> open_ownership(const FleetIdentity& fleet) {
  if (fleet.etcd.empty()) return std::shared_ptr<const migrate::Ownership>();
  Result<etcd::Client> etcd = etcd::Client::open(fleet.etcd, fleet.security);
  if (!etcd) return std::move(etcd.error()).wrap("--etcd");
  std::string name = fleet.name.empty() ? fleet::local_host_name() : fleet.name;
  if (Status named = fleet::check_host_name(name); !named) return std::move(named.error()).wrap("--fleet-name");
  return std::shared_ptr<const migrate::Ownership>(std::make_shared<const fleet::EtcdOwnership>(std::move(*etcd), name));
}

VerbRunner define_fleet(CLI::App& command) {
  auto options = std::make_shared<FleetOptions>();
  command.require_subcommand(1);
  CLI::App* ls = command.add_subcommand("ls", "List the hosts registered in the fleet, with what each holds");
  add_fleet_options(*ls, *options);
  ls->footer("A host is listed while its agent (`dockmig serve --etcd …`) runs; one that dies\n"
             "leaves the list when its lease ends (serve --fleet-ttl, 10 s by default).\n"
             "Example: dockmig fleet ls --etcd http://10.77.9.1:2379");
  CLI::App* where_command = command.add_subcommand("where", "Say which host runs a service, by its ownership record");
  where_command->add_option("service", options->service, "The service's container name")->required();
  add_fleet_options(*where_command, *options);
  where_command->footer("Prints `HOST AGENT-ADDRESS` of the host the service's ownership record names (the\n"
                        "address `-` when that host is not in the fleet now). A service never handed off in\n"
                        "the fleet has no record yet: the one host whose record lists a running container of\n"
                        "that name is named. Exits 2 when none is found. --json adds the record's revision.\n"
                        "Example: dockmig fleet where counter --etcd http://10.77.9.1:2379");
  VerbRunner handoff = define_fleet_handoff(command);
  VerbRunner watch = define_fleet_watch(command);
  CLI::App* watch_command = command.get_subcommand("watch");
  command.footer("The fleet is the set of agents registered in etcd (docs/fleet.md). --etcd may also\n"
                 "come from DOCKMIG_ETCD. An etcd with auth enabled needs --etcd-user and\n"
                 "--etcd-password-file (the password only ever in a file).");
  return [options, ls, where_command, watch_command, handoff, watch]() -> int {
    if (ls->parsed()) return list(*options);
    if (watch_command->parsed()) return watch();
    return where_command->parsed() ? where(*options) : handoff();
  };
}

}  // namespace dockmig::cli
