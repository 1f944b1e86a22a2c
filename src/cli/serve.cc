// `dockmig serve --listen ADDR:PORT [--api ADDR:PORT]`: the agent on a Docker host. It
// receives migrations from other agents and, with --api, takes handoff requests from edge
// gateways over HTTP (docs/api.md).
#include <cstdlib>

#include "agent/agent.h"
#include "cli/verbs.h"
#include "docker/engine_client.h"
#include "migrate/create_policy.h"

namespace dockmig::cli {

/// --tls-cert, --tls-key, --tls-ca and --insecure, shared by `serve` and `migrate`.
void add_transport_options(CLI::App& command, TransportSecurity& security) {
  command.add_option("--tls-cert", security.cert, "This host's certificate (PEM; see `dockmig certs`)");
  command.add_option("--tls-key", security.key, "The certificate's private key (PEM)");
  command.add_option("--tls-ca", security.ca, "The CA that signed every agent's certificate (PEM)");
  command.add_flag("--insecure", security.insecure,
                   "Plain TCP between agents, unencrypted and unauthenticated; both ends must say so");
}

namespace {

struct PolicyWords {
  std::vector<std::string> allow;
  std::vector<std::string> allow_bind;
};

void add_policy_options(CLI::App& command, PolicyWords& words) {
  command.add_option("--allow", words.allow, "Let migrations to here create containers with this setting:\n"
                     "privileged, devices, host-namespaces, unconfined (SecurityOpt) or cap:NAME\n"
                     "(a capability beyond Docker's defaults); repeatable")->type_name("SETTING");
  command.add_option("--allow-bind", words.allow_bind, "Let migrations to here bind-mount host paths under PATH;\n"
                     "repeatable")->type_name("PATH");
}

Status open_policy(const PolicyWords& words, migrate::CreatePolicy& policy) {
  for (const std::string& word : words.allow)
    if (Status opened = migrate::allow(policy, word); !opened) return opened;
  for (const std::string& path : words.allow_bind)
    if (Status opened = migrate::allow_bind(policy, path); !opened) return opened;
  return {};
}

}  // namespace

VerbRunner define_serve(CLI::App& command) {
  auto options = std::make_shared<agent::AgentOptions>();
  auto policy = std::make_shared<PolicyWords>();
  options->docker = docker::EngineClient::default_address();
  command.add_option("--listen", options->listen, "ADDR:PORT to accept migrations from other agents on")->required();
  command.add_option("--docker", options->docker, "Socket of the local dockerd")->capture_default_str();
  command.add_option("--state-dir", options->state_dir, "Where incoming blobs are staged and the journal of migrations is kept")
      ->capture_default_str();
  if (const char* criu = std::getenv("DOCKMIG_CRIU")) options->criu = criu;
  command.add_option("--criu", options->criu, "CRIU binary, the one dockerd runs (env DOCKMIG_CRIU): the page\n"
                     "server of handoffs' dumps, checked before an incoming migration, and the\n"
                     "lazy-pages daemon of lazy restores (--restore lazy)")->capture_default_str();
  command.add_option("--memory-dir", options->memory_dir,
                     "A tmpfs for the pages of incoming migrations, used while it and the host's\n"
                     "memory have room (3 times the container's); `off`: stage them in --state-dir.\n"
                     "Assembling CRIU's images from them is downtime, and half as long in memory")
      ->capture_default_str();
  command.add_option("--max-sessions", options->max_sessions, "Incoming migrations served at once")
      ->check(CLI::Range(1, 64))->capture_default_str();
  add_transport_options(command, options->security);
  command.add_option("--api", options->api, "ADDR:PORT of the HTTP API for gateways (HTTPS with --tls-*)");
  command.add_option("--tokens", options->tokens, "File of API bearer tokens, `NAME TOKEN` per line; SIGHUP rereads it");
  command.add_option("--max-handoffs", options->max_handoffs, "Handoffs from this host at once; more are queued")
      ->check(CLI::Range(1, 16))->capture_default_str();
  command.add_option("--max-queued", options->max_queued, "Handoffs waiting at most; more get 503")
      ->check(CLI::Range(1, 1024))->capture_default_str();
  add_policy_options(command, *policy);
  add_etcd_options(command, options->etcd, options->etcd_security)
      ->description("The fleet's etcd client URLs, URL[,URL...]: register this host there\n"
                    "under a lease, so gateways find it (`dockmig fleet ls`; docs/fleet.md)");
  command.add_option("--name", options->name, "This host's name in the fleet (default: the hostname)");
  command.add_option("--fleet-ttl", options->fleet_ttl, "Seconds after a crash before this host leaves the fleet\n"
                     "(its etcd lease; renewed three times as often)")
      ->check(CLI::Range(2, 300))->capture_default_str();
  command.add_option("--prepare-ttl", options->prepare_ttl, "Seconds an unused preparation (POST /v1/prepare) is kept,\n"
                     "here as its source and here as its destination, before it and its staged data go")
      ->check(CLI::Range(5, 86400))->capture_default_str();
  command.add_option("--store-budget", options->store_budget,
                     "Disk for the memory pages of containers that migrated away, kept in --state-dir\n"
                     "so that their return sends only what changed (512M, 2G, ...; 0: keep none);\n"
                     "the least recently used go first")
      ->capture_default_str();
  command.footer(
      "Runs until SIGINT or SIGTERM; SIGHUP rereads --tokens.\n"
      "--config FILE reads these options from FILE's [serve] section, `NAME = VALUE` per line\n"
      "(`listen = \"10.77.1.2:7070\"`, `allow = [\"privileged\"]`, `insecure = true`); options given\n"
      "on the command line win, and a key that is no option is an error. The package's systemd\n"
      "unit runs `dockmig serve --config /etc/dockmig/agent.conf`.\n"
      "Links between agents use TLS with certificates of one CA on both ends (make a test CA\n"
      "with `dockmig certs`), unless both ends run with --insecure.\n"
      "A migration to here may not create a privileged container, host bind mounts, devices,\n"
      "capabilities beyond Docker's defaults, host namespaces or unconfined security options\n"
      "unless --allow / --allow-bind open them; a refused one fails before the source freezes.\n"
      "Example: dockmig serve --listen 10.77.1.2:7070 --api 10.77.1.2:8443 --tokens /etc/dockmig/tokens \\\n"
      "           --tls-cert edge-b.pem --tls-key edge-b-key.pem --tls-ca ca.pem\n"
      "With --etcd the agent registers in the fleet and stays there while it runs; it fails\n"
      "at start if etcd cannot be reached, and keeps retrying (logging) if etcd goes away later.\n"
      "An etcd with auth enabled needs --etcd-user and --etcd-password-file (a wrong password\n"
      "fails at start; an expired token is renewed): docs/fleet.md, \"etcd with auth\".\n"
      "Example: dockmig serve --listen 10.77.1.2:7070 --allow cap:NET_ADMIN --allow-bind /srv/data ...\n"
      "Example: dockmig serve --listen 10.77.1.2:7070 --insecure --etcd http://10.77.9.1:2379 --name edge-b");
  return [options, policy]() -> int {
    use_agent_logging();
    if (Status opened = open_policy(*policy, options->policy); !opened) return report_error(opened.error());
    Status served = agent::serve(*options);
    return served ? kExitSuccess : report_error(served.error());
  };
}

}  // namespace dockmig::cli
