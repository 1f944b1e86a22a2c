# Integration tests: real dockerd, CRIU, registry and shaped links on the test bed
# (tools/testbed). Two beds serve them, so that ctest -j runs two tests at once (most of a
# test's time is waiting: for a link, a peer's patience, etcd): the `bed` fixture's (the
# default bed, or DOCKMIG_BED_INSTANCE's) holds the migrate_* tests, the `second_bed`
# fixture's (instance DOCKMIG_SECOND_BED_INSTANCE, 9 unless configured otherwise) the
# fleet, hook, container and package tests. Each fixture's up test makes its bed and its
# down test removes it and checks that nothing is left, even when tests fail; a test holds
# its bed's lock, so one test at a time runs on each bed (the Docker 28.5 tests, which
# make beds of their own in the first bed's place, hold its lock too). A test that times
# something runs alone (SERIAL). They need root; run as another user they are
# skipped (exit 77) with the reason.
# Label `long`: a variant of a promise another test keeps in the CI set; tools/test.sh
# leaves these out unless DOCKMIG_LONG_TESTS=1 (docs/testbed.md, "The CI set and the long
# tests"), which also runs the long cases that some scripts keep behind that variable.
set(DOCKMIG_TESTBED ${CMAKE_SOURCE_DIR}/tools/testbed/testbed)
set(DOCKMIG_INTEGRATION_DIR ${CMAKE_SOURCE_DIR}/tests/integration)
set(DOCKMIG_SECOND_BED_INSTANCE 9 CACHE STRING "The test bed instance (1-9) of the second_bed fixture's tests")

add_test(NAME bed_up COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/bed_up.sh)
add_test(NAME bed_down COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/bed_down.sh)
set_tests_properties(bed_up PROPERTIES FIXTURES_SETUP bed TIMEOUT 900)
set_tests_properties(bed_down PROPERTIES FIXTURES_CLEANUP bed TIMEOUT 300)
set_tests_properties(bed_up bed_down PROPERTIES LABELS integration RESOURCE_LOCK bed
  SKIP_RETURN_CODE 77 ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED}")
add_test(NAME second_bed_up COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/bed_up.sh)
add_test(NAME second_bed_down COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/bed_down.sh)
# After bed_up: the first `up` on a machine makes the images both beds import.
set_tests_properties(second_bed_up PROPERTIES FIXTURES_SETUP second_bed TIMEOUT 900 DEPENDS bed_up)
set_tests_properties(second_bed_down PROPERTIES FIXTURES_CLEANUP second_bed TIMEOUT 300)
set_tests_properties(second_bed_up second_bed_down PROPERTIES LABELS integration RESOURCE_LOCK second_bed
  SKIP_RETURN_CODE 77 ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED};DOCKMIG_BED_INSTANCE=${DOCKMIG_SECOND_BED_INSTANCE}")

# dockmig_integration_test(NAME [SECOND_BED] [SERIAL] [TIMEOUT s] [LABELS extra...]): runs
# tests/integration/NAME.sh on the `bed` fixture's bed, or on the second bed.
function(dockmig_integration_test name)
  cmake_parse_arguments(ARG "SECOND_BED;SERIAL" "TIMEOUT" "LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(fixture bed)
  set(environment "TESTBED=${DOCKMIG_TESTBED};DOCKMIG=$<TARGET_FILE:dockmig>;DOCKMIG_ETCD_TESTS=$<TARGET_FILE:dockmig_etcd_tests>")
  if(ARG_SECOND_BED)
    set(fixture second_bed)
    list(APPEND environment "DOCKMIG_BED_INSTANCE=${DOCKMIG_SECOND_BED_INSTANCE}")
  endif()
  add_test(NAME ${name} COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/${name}.sh)
  set_tests_properties(${name} PROPERTIES
    FIXTURES_REQUIRED ${fixture} RESOURCE_LOCK ${fixture} TIMEOUT ${ARG_TIMEOUT} SKIP_RETURN_CODE 77
    LABELS "integration;${ARG_LABELS}" ENVIRONMENT "${environment}")
  if(ARG_SERIAL)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# The etcd client and the fleet membership against a real etcd (DOCKMIG_ETCD; skipped
# without); etcd_client.sh runs it on the bed's etcd, etcd_auth.sh its AuthEtcd cases on an
# etcd with auth enabled.
add_executable(dockmig_etcd_tests tests/integration/etcd_client_test.cc tests/integration/etcd_auth_test.cc)
target_include_directories(dockmig_etcd_tests PRIVATE src tests)
target_link_libraries(dockmig_etcd_tests PRIVATE dockmig_core GTest::gtest_main)

dockmig_integration_test(bed_daemons)
dockmig_integration_test(bed_checkpoint_counter)
dockmig_integration_test(bed_checkpoint_tcp)
dockmig_integration_test(bed_registry_pull)
dockmig_integration_test(bed_link_shaping LABELS shaping)
dockmig_integration_test(migrate_counter)
dockmig_integration_test(migrate_failures)
dockmig_integration_test(migrate_filesystem)
dockmig_integration_test(migrate_volumes)
dockmig_integration_test(migrate_volume_passes)
dockmig_integration_test(migrate_volume_return)
dockmig_integration_test(migrate_copy_bind)
dockmig_integration_test(migrate_volume_drivers)
# Builds the PostgreSQL image first when its cached layer is stale (a few minutes, once).
dockmig_integration_test(migrate_postgres TIMEOUT 900)
dockmig_integration_test(migrate_networks)
dockmig_integration_test(migrate_network_pair)
dockmig_integration_test(migrate_held_arrivals)
dockmig_integration_test(migrate_layers)
dockmig_integration_test(migrate_peer)
dockmig_integration_test(migrate_prepared)
# Asserts that a pre-copy round stops the container for under 100 ms: alone.
dockmig_integration_test(migrate_precopy SERIAL)
dockmig_integration_test(migrate_lazy_restore)
dockmig_integration_test(migrate_postcopy)
dockmig_integration_test(migrate_lazy_fill_fails LABELS faults)
dockmig_integration_test(migrate_return_trip)
dockmig_integration_test(migrate_tcp_busy)
dockmig_integration_test(migrate_tcp_established)
dockmig_integration_test(migrate_settings)
dockmig_integration_test(migrate_process_tree)
dockmig_integration_test(migrate_restore_waits)
dockmig_integration_test(migrate_docker_state)
# Four migrations and their checks: some three minutes on a busy host.
dockmig_integration_test(migrate_docker_state_lazy TIMEOUT 480)
dockmig_integration_test(migrate_hostile_peer)
dockmig_integration_test(migrate_policy)
dockmig_integration_test(migrate_image_identity)
dockmig_integration_test(migrate_image_digest)
dockmig_integration_test(migrate_signals)
dockmig_integration_test(migrate_recover)
# Two cuts of 15 s and one of 85 s: some three minutes.
dockmig_integration_test(migrate_link_resume TIMEOUT 480)
dockmig_integration_test(migrate_frame_damage)
dockmig_integration_test(migrate_upper_names)
dockmig_integration_test(faults_subset LABELS faults)
dockmig_integration_test(etcd_client SECOND_BED LABELS fleet)
dockmig_integration_test(fleet_membership SECOND_BED LABELS fleet)
dockmig_integration_test(fleet_tls SECOND_BED LABELS fleet)
# An etcd with auth enabled and tokens of 1 s: some 20 s.
dockmig_integration_test(etcd_auth SECOND_BED LABELS fleet TIMEOUT 120)
# Each crash case waits about 90 s for the source to give up asking the dead destination.
dockmig_integration_test(fleet_ownership SECOND_BED LABELS fleet TIMEOUT 480)
dockmig_integration_test(fleet_gateway SECOND_BED LABELS fleet)
# Partitions and a lost etcd mid-handoff (docs/fleet.md, "The partition cases"); the cuts
# outlast both sides' patience, so eight to ten minutes on a busy machine.
dockmig_integration_test(fleet_partition SECOND_BED LABELS fleet TIMEOUT 720)
# Three etcd members, the leader killed mid-handoff, and two gateways racing (docs/fleet.md,
# "A cluster of etcd members"); puts the bed back to one member. About a minute.
dockmig_integration_test(fleet_etcd_cluster SECOND_BED LABELS fleet TIMEOUT 240)
# `fleet watch` across the death of the etcd member serving it (docs/fleet.md, "The
# gateway's view"); puts the bed back to one member. About a minute.
dockmig_integration_test(fleet_watch SECOND_BED LABELS fleet TIMEOUT 240)
# GET /v1/fleet/watch through an agent's API; waits for a 15 s heartbeat. About a minute.
dockmig_integration_test(hook_fleet_watch SECOND_BED LABELS fleet TIMEOUT 240)
# etcd's load from a small fleet, counted by etcd (docs/fleet.md, "Scale").
dockmig_integration_test(fleet_load SECOND_BED LABELS fleet)
# The same on three etcd members; puts the bed back to one member. A variant of fleet_load
# (and of fleet_etcd_cluster's three members): long.
dockmig_integration_test(fleet_load_3 SECOND_BED LABELS fleet long)
# Adds edge-c to the bed for the tour, and takes it away after.
dockmig_integration_test(fleet_follow_me SECOND_BED LABELS fleet)
# `dockmig migrate`'s own rollback fences the record before a destination's late swap; the
# source asks the destination for 60 s first, so about 90 s.
dockmig_integration_test(fleet_partition_migrate SECOND_BED LABELS fleet TIMEOUT 240)
# Puts this build's dockmig into the agent's image built before; with DOCKMIG_LONG_TESTS=1,
# or with none built before, builds the image from the Dockerfile first (minutes).
dockmig_integration_test(agent_container SECOND_BED LABELS container TIMEOUT 1800)
# The host's dockmig and an agent container on the two ends: runc's masked dirs are left to
# CRIU's tar both ways (docs/design.md, "runc's masks of directories"). Its image as
# agent_container's.
dockmig_integration_test(migrate_masks_mixed SECOND_BED LABELS container TIMEOUT 1800)

# The Debian package: cpack makes it from this build, dpkg installs it into a scratch root
# per edge, and the installed unit's command line serves a handoff (docs/install.md).
dockmig_integration_test(package_install SECOND_BED LABELS package TIMEOUT 600)
set_property(TEST package_install APPEND PROPERTY ENVIRONMENT
  "CPACK=${CMAKE_CPACK_COMMAND};DOCKMIG_BUILD_DIR=${CMAKE_BINARY_DIR}")

# Docker 28.5 on the edges: makes its own beds (tools/testbed/testbed up --docker) where the
# `bed` fixture's bed is, so it does not take the fixture but holds its lock; it puts back a
# bed that was up when it started.
add_test(NAME migrate_docker28 COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/migrate_docker28.sh)
set_tests_properties(migrate_docker28 PROPERTIES
  RESOURCE_LOCK bed TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS "integration;docker28"
  ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED};DOCKMIG=$<TARGET_FILE:dockmig>")

# The containerd image store on Docker 28.5 edges, against overlay2 and itself: beds of
# its own as migrate_docker28 (about 70 s).
add_test(NAME migrate_containerd_store COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/migrate_containerd_store.sh)
set_tests_properties(migrate_containerd_store PROPERTIES
  RESOURCE_LOCK bed TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS "integration;docker28"
  ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED};DOCKMIG=$<TARGET_FILE:dockmig>")

# Images between overlay2 and the containerd store on the cold peer path (the registry
# stopped): beds of its own (20.10 with 26.1+snapshotter, 28.5+snapshotter with 20.10),
# about 2 minutes.
add_test(NAME migrate_store_peer COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/migrate_store_peer.sh)
set_tests_properties(migrate_store_peer PROPERTIES
  RESOURCE_LOCK bed TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS "integration;docker28"
  ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED};DOCKMIG=$<TARGET_FILE:dockmig>")

# The suite's main migration tests (counter, writable layer, volumes) between two Docker
# 28.5 edges, their containers networkless: a bed of its own as migrate_docker28 (322 s on
# a loaded machine; docs/testbed.md, "The suite on Docker 28.5"). In the CI set: issue 14
# asks the suite's migration tests on the 28.5 -> 28.5 pair there.
add_test(NAME docker28_suite COMMAND bash ${DOCKMIG_INTEGRATION_DIR}/docker28_suite.sh)
set_tests_properties(docker28_suite PROPERTIES
  RESOURCE_LOCK bed TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS "integration;docker28"
  ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED};DOCKMIG=$<TARGET_FILE:dockmig>")

# The gateway hook's tests (HTTP API, TLS) and the benchmark's quick run in CI.
include(${CMAKE_SOURCE_DIR}/tests/integration/hook.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/integration/bench.cmake OPTIONAL)
