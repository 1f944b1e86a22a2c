# The etcd client (put, get, prefix, leases, the compare-and-swap) and the fleet membership
# against the bed's real etcd, from edge-a's namespace as an agent there would reach it.
source "$(dirname "$0")/lib.sh"
: "${DOCKMIG_ETCD_TESTS:?DOCKMIG_ETCD_TESTS must point to dockmig_etcd_tests (ctest sets it)}"
in_ns edge-a curl -sf "$ETCD/health" >/dev/null || fail "the bed's etcd does not answer at $ETCD"
in_ns edge-a env DOCKMIG_ETCD="$ETCD" "$DOCKMIG_ETCD_TESTS" --gtest_brief=1 || fail "dockmig_etcd_tests failed"
pass "the etcd client and membership work against etcd $(in_ns edge-a curl -sf "$ETCD/version")"
