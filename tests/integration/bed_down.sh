# Fixture: takes the bed down, then checks it left nothing: no namespaces, daemons, mounts.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the test bed needs root" >&2
  exit 77
fi
"$TESTBED" down
suffix=${DOCKMIG_BED_INSTANCE:+-$DOCKMIG_BED_INSTANCE}
left=""
ip netns list | grep -qE "^(edge-a|edge-b|edge-c|cloud)$suffix( |\$)" && left+=" namespaces"
pgrep -f "dockmig-bed$suffix/" >/dev/null && left+=" processes($(pgrep -af "dockmig-bed$suffix/" | head -3 | tr '\n' ';'))"
grep -q "dockmig-bed$suffix/" /proc/self/mounts && left+=" mounts"
[ ! -e "/run/dockmig-bed$suffix" ] && [ ! -e "/var/lib/dockmig-bed$suffix" ] || left+=" directories"
[ -z "$left" ] || { echo "FAIL: testbed down left:$left" >&2; exit 1; }
echo "PASS: testbed down left nothing behind"
