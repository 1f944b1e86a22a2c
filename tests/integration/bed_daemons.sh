# Both edge daemons answer through the Engine API, the registry answers from both edges,
# and `dockmig doctor` finds every required capability on both hosts.
source "$(dirname "$0")/lib.sh"
for host in edge-a edge-b; do
  var=$(echo "${host^^}_DOCKER" | tr - _)
  socket=${!var#unix://}
  step "$host: dockerd at $socket"
  curl -sf --unix-socket "$socket" http://docker/_ping | grep -q OK || fail "dockerd on $host does not answer"
  in_ns "$host" curl -sf "http://$REGISTRY/v2/" >/dev/null || fail "the registry does not answer from $host"
  DOCKMIG_CRIU=$CRIU "$DOCKMIG" doctor --docker "${!var}" || fail "dockmig doctor fails on $host"
done
pass
