# The suite's migration tests between two edges of Docker 28.5: on a bed of its own whose
# edges both run 28.5, each script named (by default the CI set below) runs unchanged in
# what it asserts, with DOCKMIG_TEST_NETWORKLESS=1 so that lib.sh makes its containers
# networkless, the only kind Docker 27+ restores (docs/design.md, "Docker releases"); a
# script that needs a container network skips with its reason. A bed that was up before
# is put back (with its rates) at the end. docs/testbed.md, "The suite on Docker 28.5".
#
#   docker28_suite.sh [--docker RELEASE] [SCRIPT...]   e.g. migrate_volume_return, or tests/integration/migrate_*.sh
# --docker 28.5+snapshotter runs them between two edges of 28.5 with the containerd image
# store instead of overlay2 (the default, 28.5). TESTBED and DOCKMIG as ctest sets them;
# DOCKMIG_BED_INSTANCE picks the bed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The CI set: state that continues, the writable layer and volumes, 322 s with the bed's
# up and put-back on 2026-12-06 (two cores, load average 8). migrate_precopy (263 s there)
# and migrate_lazy_restore (99 s) pass on 28.5 too but do not fit CI's six minutes:
# `docker28_suite.sh migrate_precopy migrate_lazy_restore` runs them (docs/testbed.md).
ci_scripts=(migrate_counter migrate_filesystem migrate_volumes)
release=28.5
if [ "${1:-}" = --docker ]; then release=${2:?--docker needs a release: 28.5 or 28.5+snapshotter}; shift 2; fi
case $release in
  28.5) ;;
  # dockmig finds a container's writable layer in containerd's snapshot through ctr, which
  # the bed's 28.5 brings (docs/testbed.md): last on the agents' PATH.
  28.5+snapshotter) export PATH=$PATH:/opt/docker-28.5/bin ;;
  *) echo "docker28_suite: --docker $release: this suite runs between 28.5 or 28.5+snapshotter edges" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- "${ci_scripts[@]}"
# These make beds of their own, of other releases too, and would take this one away.
own_beds=" migrate_docker28 migrate_containerd_store migrate_store_peer "

[ "$(id -u)" = 0 ] || { echo "SKIP: the bed needs root (network namespaces, dockerd, CRIU)" >&2; exit 77; }
: "${TESTBED:?TESTBED must point to tools/testbed/testbed (ctest sets it)}" "${DOCKMIG:?DOCKMIG must name the dockmig binary}"
if ! [ -x /opt/docker-28.5/bin/dockerd ] || ! /opt/docker-28.5/bin/runc --version >/dev/null 2>&1; then
  echo "SKIP: Docker 28.5 is not installed in /opt/docker-28.5 (or its runc does not run); tools/setup.sh installs it" >&2
  exit 77
fi

bed_before=$("$TESTBED" env 2>/dev/null || true)
put_back_bed() {
  if [ -z "$bed_before" ]; then "$TESTBED" down >/dev/null 2>&1 || true; return 0; fi
  "$TESTBED" up --rate "$(sed -n 's/^RATE=//p' <<<"$bed_before")" \
    --cloud-rate "$(sed -n 's/^CLOUD_RATE=//p' <<<"$bed_before")" >/dev/null
}
trap put_back_bed EXIT
start=$SECONDS
"$TESTBED" up --docker "edge-a=$release,edge-b=$release" >/dev/null
echo "=== a bed of two Docker $release edges in $((SECONDS - start)) s"

passed=() skipped=() failed=() summary=()
for script in "$@"; do
  name=$(basename "$script" .sh)
  echo "=== $name on Docker $release edges, networkless containers"
  start=$SECONDS status=0
  if [[ $own_beds == *" $name "* ]]; then
    echo "SKIP: $name makes beds of its own; run it alone" >&2; status=77
  else
    DOCKMIG_TEST_NETWORKLESS=1 bash "$here/$name.sh" || status=$?
  fi
  case $status in
    0) passed+=("$name"); outcome=passed ;;
    77) skipped+=("$name"); outcome=skipped ;;
    *) failed+=("$name"); outcome="FAILED (exit $status)" ;;
  esac
  summary+=("$(printf '%-28s %-18s %4d s' "$name" "$outcome" $((SECONDS - start)))")
  echo "=== ${summary[-1]}"
done
printf '%s\n' "=== Docker $release -> $release, networkless:" "${summary[@]}"
[ ${#failed[@]} = 0 ] || { echo "FAIL: docker28_suite: ${failed[*]}" >&2; exit 1; }
echo "PASS: docker28_suite: ${#passed[@]} passed (${passed[*]:-none}), ${#skipped[@]} skipped (${skipped[*]:-none})"
