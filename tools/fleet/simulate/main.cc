// dockmig_fleet_sim: the fleet simulation of docs/fleet.md, "Scale". Not part of the
// dockmig CLI: it drives the fleet code against an etcd with simulated hosts, and says
// whether every handoff was decided with never two owners (exit 0) or not (exit 1).
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "simulation.h"

namespace {

using dockmig::fleetsim::Options;

void define(CLI::App& app, Options& options, std::string& json_path) {
  app.add_option("--etcd", options.etcd, "etcd's client URL(s)")->required();
  app.add_option("--hosts", options.hosts, "simulated edge hosts")->capture_default_str();
  app.add_option("--services", options.services, "services, spread over the hosts")->capture_default_str();
  app.add_option("--rate", options.rate, "handoffs started per second")->capture_default_str();
  app.add_option_function<int>("--duration", [&](int s) { options.duration = std::chrono::seconds(s); },
                               "seconds of handoffs (60)");
  app.add_option_function<int>("--ttl", [&](int s) { options.ttl = std::chrono::seconds(s); },
                               "the hosts' lease TTL in seconds, as serve --fleet-ttl (10)");
  app.add_option_function<int>("--idle", [&](int s) { options.idle = std::chrono::seconds(s); },
                               "seconds of background load measured before the handoffs (10)");
  app.add_option("--workers", options.workers, "handoffs in flight at most")->capture_default_str();
  app.add_option("--race-share", options.race_share, "share of handoffs to two racing destinations")->capture_default_str();
  app.add_option("--stale-share", options.stale_share, "share asked of a host the record does not name")
      ->capture_default_str();
  app.add_option("--lost-reply-share", options.lost_reply_share, "share whose source does not hear the commit")
      ->capture_default_str();
  app.add_option("--restore-fail-share", options.restore_fail_share, "share whose restore fails after the swap")
      ->capture_default_str();
  app.add_flag("!--no-route", options.route, "skip the gateway's route (reading every host record) per handoff");
  app.add_option("--tag", options.tag, "in every host and service name")->capture_default_str();
  app.add_option("--seed", options.seed)->capture_default_str();
  app.add_flag("--keep", options.keep, "leave the service records in etcd");
  app.add_flag("--restore-after-lost-swap", options.restore_after_lost_swap,
               "break the destination on purpose (it restores though its swap lost), to see the checks fail");
  app.add_option("--json", json_path, "write the report there as JSON ('-': stdout)");
}

void print_summary(const nlohmann::json& report) {
  const nlohmann::json& handoffs = report["handoffs"];
  std::printf("hosts %zu, services %zu, lease TTL %lld s; joined in %.1f s, placed in %.1f s\n",
              report["hosts"].get<size_t>(), report["services"].get<size_t>(),
              report["lease_ttl_seconds"].get<long long>(), report["join_seconds"].get<double>(),
              report["placement_seconds"].get<double>());
  std::printf("handoffs: %zu started at %.1f/s (planned %.1f/s); outcomes %s; races %zu, swaps lost %zu\n",
              handoffs["started"].get<size_t>(), handoffs["achieved_rate"].get<double>(),
              handoffs["planned_rate"].get<double>(), handoffs["outcomes"].dump().c_str(),
              handoffs["races"].get<size_t>(), handoffs["swaps_lost"].get<size_t>());
  std::printf("commit (swap) ms: %s\nhandoff's etcd part ms: %s\nstart lag ms: %s\n", report["commit_ms"].dump().c_str(),
              report["handoff_etcd_ms"].dump().c_str(), handoffs["start_lag_ms"].dump().c_str());
  std::printf("idle: %s\nper handoff: %s\netcd after: %s\nend: %s\n", report["idle"].dump().c_str(),
              report["per_handoff"].dump().c_str(), report["etcd_after"].dump().c_str(), report["end"].dump().c_str());
  std::printf("double owners %zu, history forks %zu, failures %zu: %s\n", report["double_owners"].get<size_t>(),
              report["history_forks"].get<size_t>(), report["failures"].get<size_t>(),
              report["ok"].get<bool>() ? "ok" : "FAILED");
  for (const auto& finding : report["findings"]) std::printf("  %s\n", finding.get<std::string>().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Simulates a fleet of edge hosts handing services off through etcd (docs/fleet.md, \"Scale\")");
  Options options;
  std::string json_path;
  define(app, options, json_path);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::err);  // thousands of hosts' routine messages would drown the report
  dockmig::Result<nlohmann::json> report = dockmig::fleetsim::simulate(options);
  if (!report) {
    std::fprintf(stderr, "dockmig_fleet_sim: error: %s\n", report.error().describe().c_str());
    return 2;
  }
  print_summary(*report);
  if (json_path == "-") std::cout << report->dump(2) << "\n";
  else if (!json_path.empty()) std::ofstream(json_path) << report->dump(2) << "\n";
  return (*report)["ok"].get<bool>() ? 0 : 1;
}
