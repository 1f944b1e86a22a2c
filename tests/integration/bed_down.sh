# Fixture: takes the bed down, then checks it left nothing: no namespaces, daemons, mounts.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the test bed needs root" >&2
  exit 77
fi
"$TESTBED" down
left=""
ip netns list | grep -qE '^(edge-a|edge-b|cloud)( |$)' && left+=" namespaces"
pgrep -f "dockmig-bed" >/dev/null && left+=" processes($(pgrep -af dockmig-bed | head -3 | tr '\n' ';'))"
grep -q "dockmig-bed" /proc/self/mounts && left+=" mounts"
[ ! -e /run/dockmig-bed ] && [ ! -e /var/lib/dockmig-bed ] || left+=" directories"
[ -z "$left" ] || { echo "FAIL: testbed down left:$left" >&2; exit 1; }
echo "PASS: testbed down left nothing behind"
