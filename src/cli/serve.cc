// `dockmig serve --listen ADDR:PORT`: the receiving agent on a Docker host.
#include "agent/agent.h"
#include "cli/verbs.h"
#include "docker/engine_client.h"

namespace dockmig::cli {

VerbRunner define_serve(CLI::App& command) {
  auto options = std::make_shared<agent::AgentOptions>();
  options->docker = docker::EngineClient::default_address();
  command.add_option("--listen", options->listen, "ADDR:PORT to accept migrations on")->required();
  command.add_option("--docker", options->docker, "Socket of the local dockerd")->capture_default_str();
  command.add_option("--state-dir", options->state_dir, "Where incoming blobs are staged")
      ->capture_default_str();
  command.add_option("--max-sessions", options->max_sessions, "Migrations served at once")
      ->check(CLI::Range(1, 64))->capture_default_str();
  command.footer("Runs until SIGINT or SIGTERM. Example: dockmig serve --listen 10.77.1.2:7070");
  return [options]() -> int {
    Status served = agent::serve(*options);
    return served ? kExitSuccess : report_error(served.error());
  };
}

}  // namespace dockmig::cli
