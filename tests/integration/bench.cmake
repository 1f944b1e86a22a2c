# The benchmark's quick run (tools/bench/bench --quick: at 5 Mbps, one run of idle with
# every system and of game with dockmig-warm; about 3 minutes). It checks that every
# migration succeeded and every client saw its state continue, not how fast it was. It uses the `bed` fixture's bed (--bed reuse), so
# it never runs beside another test and never brings up a second bed.
add_test(NAME bench_quick
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/bench/bench --quick --bed reuse
          --out ${CMAKE_BINARY_DIR}/bench-results)
set_tests_properties(bench_quick PROPERTIES
  FIXTURES_REQUIRED bed RUN_SERIAL TRUE TIMEOUT 1800 SKIP_RETURN_CODE 77
  LABELS "integration;bench"
  ENVIRONMENT "TESTBED=${DOCKMIG_TESTBED};DOCKMIG=$<TARGET_FILE:dockmig>")
