# Fleet membership (docs/fleet.md): agents started with --etcd register in the bed's etcd;
# `dockmig fleet ls` lists them with their fields and the containers each runs; an agent killed with SIGKILL leaves the list when its lease ends (not before), one
# stopped cleanly leaves at once, an agent whose etcd cannot be reached does not start, and
# one that loses etcd for a while keeps running and is listed again when etcd is back.
# The bed has two edges, so the third host, edge-c, is a second agent process in edge-b's
# namespace with its own name, port and state dir, on edge-b's dockerd.
source "$(dirname "$0")/lib.sh"
ttl=10
fleet() { in_ns edge-a "$DOCKMIG" fleet "$@" --etcd "$ETCD"; }
hosts_json=$BED_STATE/fleet-hosts.json
# listed: the names in `fleet ls --json`, sorted, space-separated.
listed() {
  fleet ls --json >"$hosts_json" || return 1
  python3 -c "import json; print(' '.join(sorted(h['name'] for h in json.load(open('$hosts_json'))['hosts'])))"
}
host_field() { python3 -c "import json; print([h for h in json.load(open('$hosts_json'))['hosts'] if h['name']=='$1'][0]['$2'])"; }
is_listed() { listed | tr ' ' '\n' | grep -qx "$1"; }
is_not_listed() { ! is_listed "$1"; }
lists_exactly() { [ "$(listed)" = "$1" ]; }

step "an agent whose etcd does not answer refuses to start"
unreachable=http://${REGISTRY%:*}:2399
errors_log=$BED_STATE/fleet-unreachable.log
start_status=0
in_ns edge-a timeout 30 "$DOCKMIG" serve --listen "$EDGE_A_ADDR:7079" --docker "$EDGE_A_DOCKER" --insecure \
  --state-dir "$BED_STATE/agent-unreachable" --etcd "$unreachable" --name edge-a 2>"$errors_log" || start_status=$?
[ "$start_status" != 0 ] && [ "$start_status" != 124 ] || fail "serve with an unreachable etcd exited $start_status"
grep -q "joining the fleet at etcd $unreachable" "$errors_log" || fail "the error does not name etcd: $(cat "$errors_log")"
step "refused: $(head -n1 "$errors_log")"

step "three agents register"
start_agent edge-a --etcd "$ETCD" --name edge-a --fleet-ttl "$ttl"
start_agent edge-b --etcd "$ETCD" --name edge-b --fleet-ttl "$ttl"
edge_b_agent=${agent_pids[-1]}
nsenter --net="/run/netns/$EDGE_B_NETNS" -- "$DOCKMIG" serve --listen "$EDGE_B_ADDR:7072" --docker "$EDGE_B_DOCKER" \
  --state-dir "$BED_STATE/agent-edge-c" --insecure --etcd "$ETCD" --name edge-c --fleet-ttl "$ttl" \
  >>"$BED_STATE/agent-edge-c.log" 2>&1 &
edge_c_agent=$!
agent_pids+=("$edge_c_agent")
wait_until 15 lists_exactly "edge-a edge-b edge-c" || fail "fleet ls lists [$(listed)], expected edge-a edge-b edge-c"
fleet ls | sed 's/^/    /'
[ "$(host_field edge-c agent_address)" = "$EDGE_B_ADDR:7072" ] || fail "edge-c's agent address is $(host_field edge-c agent_address)"
[[ $(host_field edge-a docker_version) =~ ^[0-9]+\. ]] || fail "edge-a's docker version is '$(host_field edge-a docker_version)'"
[[ $(host_field edge-a criu_version) =~ ^4\. ]] || fail "edge-a's CRIU version is '$(host_field edge-a criu_version)'"
[ "$(host_field edge-a staging_free_bytes)" -gt 0 ] || fail "edge-a's free staging space is 0"
[ "$(host_field edge-a lease_ttl_seconds)" = "$ttl" ] || fail "edge-a's lease TTL is $(host_field edge-a lease_ttl_seconds)"

step "edge-a's record lists a container started there"
dk edge-a run -d --name fleet-svc --label "$label" "$IMAGE_TINY" sleep 600 >/dev/null
lists_fleet_svc() { listed >/dev/null && [[ $(host_field edge-a containers) == *fleet-svc* ]]; }
# Records are refreshed every third of the TTL.
wait_until 10 lists_fleet_svc || fail "edge-a's record does not list fleet-svc: $(host_field edge-a containers)"
[[ $(host_field edge-a images) == *dockmig/tiny@sha256:* ]] || fail "edge-a's record has no digest of the tiny image: $(host_field edge-a images)"
where_status=0
fleet where no-such-service 2>/dev/null || where_status=$?
[ "$where_status" = 2 ] || fail "fleet where for a service without a record exited $where_status, expected 2"

step "an agent killed with SIGKILL leaves the fleet when its lease ends"
kill -9 "$edge_c_agent"
killed_at=$SECONDS
wait "$edge_c_agent" 2>/dev/null || true
is_listed edge-c || fail "edge-c left the fleet at once, before its lease could end"
wait_until $((ttl + 5)) is_not_listed edge-c || fail "edge-c is still listed $((ttl + 5)) s after SIGKILL"
gone_after=$((SECONDS - killed_at))
[ "$(listed)" = "edge-a edge-b" ] || fail "fleet ls lists [$(listed)], expected edge-a edge-b"

step "an agent stopped cleanly leaves at once"
kill -TERM "$edge_b_agent"
wait "$edge_b_agent" 2>/dev/null || true
[ "$(listed)" = "edge-a" ] || fail "after edge-b's agent stopped, fleet ls lists [$(listed)]"

step "an agent that loses etcd for longer than its TTL is listed again once etcd is back"
"$TESTBED" etcd stop
sleep $((ttl + 2))
"$TESTBED" etcd start
wait_until $((ttl + 5)) is_listed edge-a || fail "edge-a is not listed again after etcd came back"
grep -q "fleet: lost etcd" "$BED_STATE/agent-edge-a.log" || fail "edge-a's agent did not log the loss of etcd"
kill -0 "${agent_pids[0]}" || fail "edge-a's agent ended while etcd was away"
pass "3 hosts registered; the killed one left after ${gone_after} s (TTL $ttl s), the stopped one at once; edge-a came back after an etcd outage"
