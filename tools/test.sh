#!/usr/bin/env bash
# Runs every dockmig test on this machine: installs what is missing (tools/setup.sh),
# builds, then runs the unit tests and the integration tests on a real two-host edge
# test bed (real dockerd, CRIU, registry, shaped links). Needs root.
#   tools/test.sh                  the CI set: the unit tests in parallel, then the rest
#                                  (integration tests on the bed, fuzzers) one by one
#   DOCKMIG_LONG_TESTS=1 tools/test.sh
#                                  everything: also the tests labelled `long` and the
#                                  long cases of the matrices (docs/testbed.md, "Tests")
#   tools/test.sh -L unit          only what matches a ctest label or -R regex
# DOCKMIG_SKIP_SETUP=1 skips the installer (when you know the machine is ready).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${DOCKMIG_BUILD_DIR:-$repo/build}

if [ "$(id -u)" -ne 0 ]; then
  echo "tools/test.sh: run as root: the tests start daemons and make network namespaces" >&2
  exit 2
fi
[ "${DOCKMIG_SKIP_SETUP:-0}" = 1 ] || bash "$repo/tools/setup.sh"

. "$repo/tools/ccache-env.sh"

# The tests arm fault points (docs/reliability.md); a build without the option has none.
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKMIG_WERROR=ON -DDOCKMIG_FAULT_POINTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
if [ $# -gt 0 ]; then
  exec ctest --output-on-failure "$@"
fi
# The unit tests touch no bed and time nothing, so they run side by side. The rest run
# three at a time: one test on each of two beds (tests/integration/integration.cmake),
# whose time is mostly waiting, and the fuzzers' niced clang build and runs beside them;
# a test that times something runs alone. Both parts always run; the status is a failure
# when either failed. ctest adds the fixtures (the beds' up and down tests, fuzz_build)
# that the second part's tests require.
leave_out='^unit$'
[ "${DOCKMIG_LONG_TESTS:-0}" = 1 ] || leave_out='^(unit|long)$'
status=0
ctest --output-on-failure -L '^unit$' -j"$(nproc)" || status=$?
ctest --output-on-failure -LE "$leave_out" -j3 || status=$?
exit "$status"
