# Tests. Unit tests: one gtest binary, no daemons, label `unit` (the neighbour-table test
# makes a private network namespace and skips itself without root).
# Integration tests: real dockerd, CRIU, registry and shaped links on the test bed
# (tools/testbed), label `integration`; they share one bed through a ctest fixture.
find_package(GTest REQUIRED)
include(GoogleTest)

set(DOCKMIG_UNIT_TEST_SOURCES
  tests/unit/base/byte_units_test.cc
  tests/unit/base/log_format_test.cc
  tests/unit/metrics/registry_test.cc
  tests/unit/cli/progress_line_test.cc
  tests/unit/base/result_test.cc
  tests/unit/base/subprocess_test.cc
  tests/unit/base/text_file_test.cc
  tests/unit/base/proc_status_test.cc
  tests/unit/faults/fault_points_test.cc
  tests/unit/docker/engine_client_test.cc
  tests/unit/docker/daemon_settings_test.cc
  tests/unit/docker/container_info_test.cc
  tests/unit/docker/restore_support_test.cc
  tests/unit/docker/writable_layer_test.cc
  tests/unit/docker/networking_test.cc
  tests/unit/docker/image_reference_test.cc
  tests/unit/etcd/wire_test.cc
  tests/unit/etcd/auth_test.cc
  tests/unit/etcd/client_test.cc
  tests/unit/etcd/failover_test.cc
  tests/unit/etcd/watch_resume_test.cc
  tests/unit/fleet/handoff_route_test.cc
  tests/unit/fleet/host_record_test.cc
  tests/unit/fleet/membership_test.cc
  tests/unit/fleet/service_record_test.cc
  tests/unit/fleet/ownership_changes_test.cc
  tests/unit/fleet/ownership_watch_test.cc
  tests/unit/migrate/ownership_test.cc
  tests/unit/migrate/report_test.cc
  tests/unit/migrate/restore_choice_test.cc
  tests/unit/migrate/peer_message_test.cc
  tests/unit/migrate/wanted_image_test.cc
  tests/unit/migrate/create_policy_test.cc
  tests/unit/migrate/destination_session_test.cc
  tests/unit/migrate/interruption_test.cc
  tests/unit/migrate/journal_test.cc
  tests/unit/migrate/left_volumes_test.cc
  tests/unit/migrate/link_resume_test.cc
  tests/unit/migrate/restart_policy_test.cc
  tests/unit/migrate/warm_store_test.cc
  tests/unit/migrate/destination_preflight_test.cc
  tests/unit/migrate/precopy_sender_test.cc
  tests/unit/migrate/plan_test.cc
  tests/unit/migrate/recovery_rule_test.cc
  tests/unit/migrate/upper_index_test.cc
  tests/unit/migrate/tree_sync_test.cc
  tests/unit/migrate/postcopy_test.cc
  tests/unit/migrate/mounts_test.cc
  tests/unit/migrate/networks_test.cc
  tests/unit/migrate/volume_sync_test.cc
  tests/unit/migrate/attached_volumes_test.cc
  tests/unit/migrate/bind_copies_test.cc
  tests/unit/checkpoint/criu_test.cc
  tests/unit/checkpoint/criu_log_test.cc
  tests/unit/checkpoint/criu_stats_test.cc
  tests/unit/checkpoint/runc_criu_config_test.cc
  tests/unit/checkpoint/masked_mounts_test.cc
  tests/unit/checkpoint/lazy_pages_test.cc
  tests/unit/checkpoint/lazy_page_server_test.cc
  tests/unit/checkpoint/restore_gate_test.cc
  tests/unit/checkpoint/pagemap_image_test.cc
  tests/unit/hostnet/arrival_hold_test.cc
  tests/unit/hostnet/neighbor_table_test.cc
  tests/unit/memory/memory_test.cc
  tests/unit/memory/page_coding_test.cc
  tests/unit/memory/page_index_test.cc
  tests/unit/memory/write_tracker_test.cc
  tests/unit/memory/return_cache_test.cc
)
set(DOCKMIG_LAYERS_TEST_SOURCES
  tests/unit/layers/upper_snapshot_test.cc
  tests/unit/layers/upper_tar_test.cc
  tests/unit/layers/tar_extract_safety_test.cc
)
set(DOCKMIG_TRANSFER_TEST_SOURCES
  tests/unit/transfer/file_stream_test.cc
  tests/unit/transfer/zstd_stream_test.cc
  tests/unit/transfer/compression_level_test.cc
  tests/unit/transfer/connection_test.cc
  tests/unit/transfer/channel_test.cc
  tests/unit/transfer/frame_format_test.cc
  tests/unit/transfer/resend_log_test.cc
  tests/unit/transfer/channel_resume_test.cc
  tests/unit/transfer/tls_test.cc
  tests/unit/transfer/rsync_delta_test.cc
)
set(DOCKMIG_AGENT_TEST_SOURCES
  tests/unit/agent/tokens_test.cc
  tests/unit/agent/api_request_test.cc
  tests/unit/agent/handoff_queue_test.cc
  tests/unit/agent/http_api_test.cc
  tests/unit/agent/handoff_metrics_test.cc
  tests/unit/agent/watch_metrics_test.cc
  tests/unit/agent/api_fleet_routes_test.cc
)
add_executable(dockmig_unit_tests ${DOCKMIG_UNIT_TEST_SOURCES}
  ${DOCKMIG_LAYERS_TEST_SOURCES} ${DOCKMIG_TRANSFER_TEST_SOURCES} ${DOCKMIG_AGENT_TEST_SOURCES})
target_include_directories(dockmig_unit_tests PRIVATE src tests)
target_link_libraries(dockmig_unit_tests PRIVATE dockmig_core GTest::gtest_main)
gtest_discover_tests(dockmig_unit_tests PROPERTIES LABELS unit
  DISCOVERY_TIMEOUT 30)

include(tests/integration/integration.cmake OPTIONAL)

# A small fleet simulation against a private etcd (no bed, no root): every handoff decided,
# never two owners (docs/fleet.md, "Scale"). Skipped (77) where etcd is not installed.
include(tools/fleet/simulate/simulate.cmake)
add_test(NAME fleet_simulation COMMAND bash ${CMAKE_SOURCE_DIR}/tests/simulation/fleet_simulation.sh
  $<TARGET_FILE:dockmig_fleet_sim>)
set_tests_properties(fleet_simulation PROPERTIES LABELS "unit;fleet" TIMEOUT 120 SKIP_RETURN_CODE 77)
