# A container of several processes moves as one (issue 13, item 6): bash as its init, a
# producer piping numbers to a consumer, and a unix-socket client and server that check
# every number arrives in order (apps/process_tree.sh), with a healthcheck running. After
# the handoff the same processes run at the destination, the pipe and the socket carried
# on from where they were (no number lost, none repeated), and the container is healthy.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
image=dockmig-test/process-tree:1
trap 'stop_agents; cleanup_containers
  for h in edge-a edge-b; do dk $h rmi -f "$image" >/dev/null 2>&1 || true; done
  rm -rf "$work" "$report" "$errors"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
# The link's speed is not what this test is about: the destination pulls the Debian base.
"$TESTBED" rate 100mbit >/dev/null
start_agent edge-b

cp "$(dirname "$0")/apps/process_tree.sh" "$work/"
printf 'FROM %s\nCOPY process_tree.sh /process_tree.sh\nCMD ["/process_tree.sh"]\n' "$IMAGE_BASE" >"$work/Dockerfile"
DOCKER_BUILDKIT=0 dk edge-a build -q -t "$image" --label "$label" "$work" >/dev/null || fail "cannot build the image"
dk edge-a run -d --name tree --label "$label" --health-cmd 'test -s /tmp/received' --health-interval 1s \
  "$image" >/dev/null
value() { number_of dk "$1" exec tree cat "/tmp/$2"; }
at_least() { [ "$(value "$1" "$2" 2>/dev/null || echo 0)" -ge "$3" ]; }
wait_until 20 at_least edge-a received 20 || fail "the socket client and server did not start"
wait_until 20 at_least edge-a piped 20 || fail "the pipe did not start"
# The long-lived ones: the producer's `sleep 0.1` comes and goes.
processes() { dk "$1" top tree -eo pid,comm | awk 'NR > 1 && $2 != "sleep" {print $2}' | sort | tr '\n' ' '; }
before=$(processes edge-a)
step "processes at the source: $before"

migrate edge-a edge-b tree
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b tree || fail "tree does not run on edge-b"
received=$(value edge-b received) piped=$(value edge-b piped)
sleep 1
[ "$(processes edge-b)" = "$before" ] || fail "processes at the destination: $(processes edge-b)"
[ "$(value edge-b received)" -gt "$received" ] || fail "the socket client stopped at $received"
[ "$(value edge-b piped)" -gt "$piped" ] || fail "the pipe stopped at $piped"
[ "$received" -ge 20 ] && [ "$piped" -ge 20 ] || fail "the counts restarted (socket $received, pipe $piped)"
gap=$(dk edge-b exec tree cat /tmp/gap 2>/dev/null || true)
[ -z "$gap" ] || fail "the socket lost or repeated numbers: $gap"
wait_until 15 bash -c "[ \"\$($TESTBED docker edge-b inspect -f '{{.State.Health.Status}}' tree)\" = healthy ]" \
  || fail "the healthcheck does not pass at the destination"
pass "the same processes run on, handoff $(field "['handoff_seconds']") s; socket $received -> $(value edge-b received), pipe $piped -> $(value edge-b piped), no gap"
