# The fleet simulation (docs/fleet.md, "Scale"): a tool beside the tests, not part of the
# dockmig CLI; fleet_simulation runs a small one against a private etcd.
add_executable(dockmig_fleet_sim
  tools/fleet/simulate/main.cc
  tools/fleet/simulate/simulation.cc
  tools/fleet/simulate/sim_world.cc
  tools/fleet/simulate/etcd_metrics.cc
)
target_include_directories(dockmig_fleet_sim PRIVATE src)
target_link_libraries(dockmig_fleet_sim PRIVATE dockmig_core CLI11::CLI11)
