// `dockmig fleet handoff SERVICE --to HOST`: a gateway's handoff by the fleet's records.
// The source is the host the service's ownership record names (no agent is asked where it
// runs); the destination's agent address comes from its host record. The source's agent
// is then asked over its HTTP API (POST /v1/fleet/handoff) and followed until it ends.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "agent/api_client.h"
#include "cli/verbs.h"
#include "fleet/handoff_route.h"

namespace dockmig::cli {
namespace {

using nlohmann::json;

struct HandoffOptions {
  std::string service;
  std::string to;
  std::string etcd;
  etcd::ClientSecurity etcd_security;
  std::string token_file;
  agent::ApiCredentials api;
  int timeout_seconds = 600;
  bool json = false;
};

Result<std::string> read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!(in >> token))
    return make_error(ErrorCode::InvalidInput, "cannot read a token from `" + path + "`",
                      "the file holds the API token the agents' --tokens file lists for this gateway");
  return token;
}

/// The handoff's status at the source's API once it ended, printing each new state.
Result<json> follow(const agent::ApiClient& source, const std::string& id, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  std::string shown;
  while (true) {
    Result<agent::ApiAnswer> answer = source.get("/v1/handoffs/" + id);
    if (!answer) return std::move(answer.error());
    if (answer->status != 200) return agent::api_error("following handoff " + id, *answer);
    std::string state = answer->body.value("state", "");
    if (state != shown) std::fprintf(stderr, "  %s\n", state.c_str());
    shown = state;
    if (state == "succeeded" || state == "failed" || state == "rolled_back") return answer->body;
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(ErrorCode::Timeout, "handoff " + id + " still " + state + " after " +
                                                std::to_string(timeout_seconds) + " s",
                        "it goes on at the source: GET " + source.base() + "/v1/handoffs/" + id);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

/// The report's phases (in their order), totals and result, for people.
std::string report_text(const json& report) {
  std::string text = "handoff of " + report.value("container", "") + ": " + report.value("source", "") + " -> " +
                     report.value("destination", "") + "\n";
  char line[160];
  const json& phases = report.contains("phases") ? report["phases"] : json::object();
  for (const char* name : {"plan", "image", "presync", "precopy", "checkpoint", "finalsync", "restore", "confirm"}) {
    if (!phases.contains(name)) continue;
    const json& phase = phases[name];
    std::snprintf(line, sizeof line, "  %-11s %9.3f s %12.0f bytes on the wire\n", name, phase.value("seconds", 0.0),
                  phase.value("wire_bytes", 0.0));
    text += line;
  }
  std::snprintf(line, sizeof line, "  handoff %.3f s, downtime %.3f s, %.0f bytes on the wire, %.0f saved by a preparation\n",
                report.value("handoff_seconds", 0.0), report.value("downtime_seconds", 0.0),
                report.value("bytes_total", 0.0), report.value("prepared_bytes_saved", 0.0));
  return text + line;
}

int print_outcome(const json& status, bool as_json) {
  const json& report = status.contains("report") ? status["report"] : json::object();
  if (as_json) std::printf("%s\n", report.dump(2).c_str());
  else if (!report.empty()) std::printf("%s", report_text(report).c_str());
  std::string state = status.value("state", "");
  if (state == "succeeded") return kExitSuccess;
  spdlog::error("the handoff {}: {}", state == "rolled_back" ? "was rolled back" : "failed", status.value("reason", ""));
  return status.value("needs_attention", false) ? kExitNeedsAttention : kExitFailure;
}

/// Asks the source's agent to start the handoff; its id.
Result<std::string> ask_source(const agent::ApiClient& source, const HandoffOptions& options) {
  Result<agent::ApiAnswer> answer = source.post("/v1/fleet/handoff", {{"service", options.service}, {"to", options.to}});
  if (!answer) return std::move(answer.error());
  if (answer->status != 202) return agent::api_error("asking " + source.base() + " for the handoff", *answer);
  return answer->body.value("id", "");
}

int run_handoff(HandoffOptions options) {
  if (!options.token_file.empty()) {
    Result<std::string> token = read_token(options.token_file);
    if (!token) return report_error(std::move(token.error()).wrap("--token-file"));
    options.api.token = *token;
  }
  Result<etcd::Client> etcd = etcd::Client::open(options.etcd, options.etcd_security);
  if (!etcd) return report_error(std::move(etcd.error()).wrap("--etcd"));
  Result<fleet::HandoffRoute> route = fleet::route_handoff(*etcd, options.service, options.to);
  if (!route) return report_error(route.error());
  Result<agent::ApiClient> source = agent::ApiClient::open(route->source.api_address, options.api);
  if (!source) return report_error(std::move(source.error()).wrap("the source `" + route->source.name + "`"));
  Result<std::string> id = ask_source(*source, options);
  if (!id) return report_error(id.error());
  std::fprintf(stderr, "handoff %s of %s: %s (%s) -> %s (%s)\n", id->c_str(), options.service.c_str(),
               route->source.name.c_str(), route->source.agent_address.c_str(), route->destination.name.c_str(),
               route->destination.agent_address.c_str());
  Result<json> ended = follow(*source, *id, options.timeout_seconds);
  if (!ended) return report_error(ended.error());
  return print_outcome(*ended, options.json);
}

void add_api_options(CLI::App& command, HandoffOptions& options) {
  command.add_option("--token-file", options.token_file, "A file holding this gateway's API token")
      ->envname("DOCKMIG_TOKEN_FILE");
  command.add_option("--tls-ca", options.api.ca, "The CA of the agents' certificates (HTTPS APIs)");
  command.add_option("--tls-cert", options.api.cert, "A client certificate of that CA, instead of a token");
  command.add_option("--tls-key", options.api.key, "The client certificate's key");
  command.add_flag("--insecure", options.api.plain_http, "The agents run --insecure: their APIs are plain HTTP");
}

}  // namespace

VerbRunner define_fleet_handoff(CLI::App& fleet) {
  auto options = std::make_shared<HandoffOptions>();
  CLI::App* command = fleet.add_subcommand("handoff", "Hand a service off to a host of the fleet, by their names");
  command->add_option("service", options->service, "The service's container name")->required();
  command->add_option("--to", options->to, "The destination host's name in the fleet")->required();
  add_etcd_options(*command, options->etcd, options->etcd_security)->required();
  add_api_options(*command, *options);
  command->add_option("--timeout", options->timeout_seconds, "Seconds to follow the handoff at most")
      ->check(CLI::Range(1, 86400))->capture_default_str();
  command->add_flag("--json", options->json, "Print the handoff's report as one JSON object");
  command->footer("The source is the host the service's ownership record names; its agent (serve --api)\n"
                  "runs the handoff. Exits 2 for an unknown service or host, or a host that already runs it;\n"
                  "1 when the handoff failed (the source runs on); 3 when it needs attention.\n"
                  "Example: dockmig fleet handoff counter --to edge-b --etcd http://10.77.9.1:2379 \\\n"
                  "           --token-file gateway.token --tls-ca ca.pem");
  return [options]() -> int { return run_handoff(*options); };
}

}  // namespace dockmig::cli
