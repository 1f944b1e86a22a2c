# What goes wrong is said clearly and loses nothing: no agent at DEST, a DEST that is not
# an agent, an agent speaking another protocol version, an unknown or stopped container,
# a destination killed in the middle of finalsync, a name already taken at the
# destination, a destination without CRIU or without disk room. In each case the source container runs afterwards (resumed from its
# checkpoint when it had been frozen) and the destination keeps no container of ours.
source "$(dirname "$0")/lib.sh"
need_fault_points
dk edge-a run -d --name mig-fail --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-fail 5 || fail "the counter did not start"

expect_failure() {  # expect_failure WHAT PATTERN: the last migrate failed, saying PATTERN
  [ "$migrate_status" != 0 ] || fail "$1: dockmig migrate succeeded"
  grep -qi -- "$2" "$errors" || fail "$1: the message does not say \`$2\`"
  running edge-a mig-fail || fail "$1: the source no longer runs"
  exists edge-b mig-fail && fail "$1: edge-b has a container"
  step "$1: exit $migrate_status, $(head -n1 "$errors")"
}

not_frozen() {  # not_frozen WHAT: the last migrate never checkpointed the source
  [ "$(field "['phases']['checkpoint']['seconds']" 2>/dev/null || echo 0)" = 0 ] \
    || fail "$1: the source was checkpointed before the destination refused"
}

migrate edge-a edge-b mig-fail
expect_failure "no agent" "reaching the destination agent"

in_ns edge-a "$DOCKMIG" migrate mig-fail "$REGISTRY" --docker "$EDGE_A_DOCKER" --insecure >/dev/null 2>"$errors" \
  && migrate_status=0 || migrate_status=$?
expect_failure "not an agent" "not a dockmig agent"

# The fake says it listens through a file, and gives up after 60 s if no one calls.
listening=$(mktemp -u)
in_ns edge-b python3 -c '
import socket, struct
s = socket.create_server(("'"$EDGE_B_ADDR"'", '"$agent_port"')); s.settimeout(60)
open("'"$listening"'", "w").close()
c, _ = s.accept()
c.sendall(b"DOCKMIG\n" + struct.pack(">HH", 99, 99)); c.recv(64); c.close()' &
fake=$!
wait_until 30 test -e "$listening" || fail "the fake agent did not start listening"
rm -f "$listening"
migrate edge-a edge-b mig-fail
wait $fake || true
expect_failure "protocol version" "protocol version 99"

migrate edge-a edge-b no-such-container
[ "$migrate_status" != 0 ] && grep -qi "no-such-container" "$errors" || fail "unknown container: not named in the error"

dk edge-a run -d --name mig-stopped --label "$label" "$IMAGE_TINY" true >/dev/null
dk edge-a wait mig-stopped >/dev/null
migrate edge-a edge-b mig-stopped
[ "$migrate_status" != 0 ] && grep -qi "not running" "$errors" || fail "stopped container: the error does not say it is not running"

start_agent edge-b
agent=${agent_pids[-1]}
# Dead before the first final byte is sent: its socket then answers with a reset at once.
migrate_pausing source.before-finalsync 'kill -9 $agent; sleep 0.5' -- edge-a edge-b mig-fail
[ "$migrate_status" = 1 ] || fail "destination killed: exit $migrate_status, expected 1 (failed, source runs)"
[ "$(field "['rolled_back']")" = True ] || fail "destination killed: the report does not say rolled back"
running edge-a mig-fail || fail "destination killed: the source was not resumed"
before=$(count_of edge-a mig-fail); sleep 1; after=$(count_of edge-a mig-fail)
[ "$after" -gt "$before" ] || fail "destination killed: the resumed source does not count"
step "destination killed: exit 1, source resumed and counting ($before -> $after)"
start_agent edge-b   # a restarted agent removes what the killed one had made
wait_until 10 bash -c "! $DOCKER_CLI -H $EDGE_B_DOCKER inspect mig-fail" \
  || fail "destination killed: edge-b still has the container after its agent restarted"

# A name already taken at the destination is refused before the source freezes, and the
# destination's own container of that name is left alone.
dk edge-b run -d --name mig-fail --label "$label" "$IMAGE_TINY" sleep 300 >/dev/null
theirs=$(dk edge-b inspect -f '{{.Id}}' mig-fail)
migrate edge-a edge-b mig-fail
[ "$migrate_status" = 1 ] || fail "name taken: exit $migrate_status, expected 1 (failed, source runs)"
grep -qi 'named `mig-fail` already exists' "$errors" || fail "name taken: the message does not say the name is taken"
not_frozen "name taken"
running edge-a mig-fail || fail "name taken: the source no longer runs"
[ "$(dk edge-b inspect -f '{{.Id}} {{.State.Running}}' mig-fail)" = "$theirs true" ] \
  || fail "name taken: the destination's own mig-fail was changed"
step "name taken: exit 1, $(head -n1 "$errors")"
dk edge-b rm -f mig-fail >/dev/null

# A destination that cannot restore, or has no room for what would arrive, refuses
# before the source freezes (expect_failure checks the source runs and edge-b has nothing).
stop_agents
start_agent edge-b --criu /nonexistent/criu
migrate edge-a edge-b mig-fail
expect_failure "no CRIU" "cannot restore a checkpoint: criu not found"
[ "$migrate_status" = 1 ] || fail "no CRIU: exit $migrate_status, expected 1 (failed, source runs)"
not_frozen "no CRIU"

stop_agents
staging="$BED_STATE/agent-edge-b/staging"
mkdir -p "$staging"
mount -t tmpfs -o size=32m dockmig-test-small "$staging"
trap 'umount "$staging" 2>/dev/null || true; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT
start_agent edge-b
migrate edge-a edge-b mig-fail
expect_failure "disk full" "MiB free on the file system of"
[ "$migrate_status" = 1 ] || fail "disk full: exit $migrate_status, expected 1 (failed, source runs)"
not_frozen "disk full"
stop_agents
umount "$staging"
start_agent edge-b

# A destination whose dockerd lacks a capability refuses before the source freezes.
trap '"$TESTBED" dockerd edge-b restart >/dev/null 2>&1 || true; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT
"$TESTBED" dockerd edge-b restart --no-experimental
migrate edge-a edge-b mig-fail
expect_failure "no experimental features" "without experimental features"
not_frozen "no experimental features"
pass
