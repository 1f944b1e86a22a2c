// `dockmig inspect CONTAINER`: the container's layers, mounts, networks and ports as a
// migration sees them (with --bind-map and --copy-bind as a migration would be given them),
// what it would refuse and why, and what it would send to a host that has, or lacks, its
// image. It only reads: the container runs on.
#include <cstdio>

#include "cli/verbs.h"
#include "docker/engine_client.h"
#include "migrate/plan.h"

namespace dockmig::cli {

VerbRunner define_inspect(CLI::App& command) {
  struct Options {
    std::string container;
    std::string docker = docker::EngineClient::default_address();
    bool json = false;
    BindOptionTexts binds;
  };
  auto options = std::make_shared<Options>();
  command.add_option("container", options->container, "Name or id of a local container")->required();
  command.add_option("--docker", options->docker, "Socket of the local dockerd")->capture_default_str();
  command.add_flag("--json", options->json, "Print one JSON object");
  add_bind_options(command, options->binds);
  command.footer(
      "Lists what a migration would do with each part of the container: its image layers\n"
      "(fetched by the destination, never sent), its writable layer, each volume, bind\n"
      "mount and tmpfs, each user-defined network (aliases, address) and published port,\n"
      "and the memory its checkpoint carries, with sizes and the bytes a migration would\n"
      "send. What `dockmig migrate` would refuse before stopping anything is listed as\n"
      "`cannot move: REASON` (with --json: `movable` false and the reasons in `blockers`).\n"
      "The destination's own checks (a network name there with another subnet, a port\n"
      "taken there, a --bind-map path missing there) come only with a migration.\n"
      "Nothing is stopped or changed. Exit status: 0 listed, movable or not; 1 failed;\n"
      "2 bad input (e.g. no such container).\n"
      "Example: dockmig inspect web --bind-map /srv/conf=/srv/conf --json");
  return [options]() -> int {
    Result<docker::EngineClient> engine = docker::EngineClient::open(options->docker);
    if (!engine) return report_error(engine.error());
    MigrationRequest binds;
    if (Status read = read_bind_options(options->binds, binds); !read) return report_error(read.error());
    Result<migrate::MigrationPlan> plan =
        migrate::make_plan(*engine, options->container, binds.bind_map, TcpMode::Close, binds.copy_binds);
    if (!plan) return report_error(plan.error());
    if (options->json) std::printf("%s\n", migrate::to_json(*plan).dump(2).c_str());
    else std::printf("%s", migrate::to_text(*plan).c_str());
    return kExitSuccess;
  };
}

}  // namespace dockmig::cli
