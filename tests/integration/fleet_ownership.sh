# Ownership records and the commit point (docs/fleet.md, "Ownership"): with --etcd on both
# sides a handoff commits by the destination's swap of the service's record, made before
# its copy may start; the source resumes only while the record names it.
#  (d) etcd stopped before a handoff: refused before the freeze; the container runs on.
#  (a) a handoff: the record names the destination, the counter carried on; a handoff of
#      the service from a host the record does not name is refused before the freeze.
#  (c) the destination's agent dies right before its swap (the source loses it): the source
#      resumes, the record still names it, the destination's next start leaves nothing.
#  (b) the destination's agent dies right after its swap and restore, before telling the
#      source: the source does not resume (the record names the destination; its journal
#      says so), the copy runs there; `dockmig recover --etcd` leaves it in doubt while
#      the destination is down, and removes the stopped source once it answers.
#  (b2) it dies right after the swap, before the restore: the source does not resume; the
#      destination's agent, started again, starts its copy from the staged checkpoint.
#      Only with DOCKMIG_LONG_TESTS=1 (docs/testbed.md, "The CI set and the long tests"):
#      like (c) and (b) it waits out the source's 90 s of patience, and fleet_partition.sh's
#      (e3) keeps its promise in the CI set (an agent started again after its swap starts
#      its copy, the source stays stopped).
source "$(dirname "$0")/lib.sh"
need_fault_points
etcd_stopped=no
trap 'stop_agents; cleanup_containers; [ "$etcd_stopped" = no ] || "$TESTBED" etcd start >/dev/null 2>&1;
      in_ns edge-a etcdctl --endpoints "$ETCD" del --prefix /dockmig/services/own- >/dev/null 2>&1;
      rm -f "$report" "$errors"' EXIT

# owner SERVICE: the host its ownership record names ("" when it has none).
owner() {
  in_ns edge-a etcdctl --endpoints "$ETCD" get "/dockmig/services/$1" --print-value-only |
    python3 -c 'import json,sys; t=sys.stdin.read().strip(); print(json.loads(t)["host"] if t else "")'
}
fleet_migrate() { migrate edge-a edge-b "$1" --etcd "$ETCD" --fleet-name edge-a; }
start_counter() {
  dk edge-a run -d --name "$1" --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
  wait_until 20 count_at_least edge-a "$1" 20 || fail "$1: the counter did not start"
}
agent_b=
# start_b [FAULTS]: edge-b's agent in the fleet, armed with FAULTS (DOCKMIG_FAULTS) if given.
start_b() {
  if [ -n "$agent_b" ]; then kill "$agent_b" 2>/dev/null || true; wait "$agent_b" 2>/dev/null || true; fi
  DOCKMIG_FAULTS=${1:-} start_agent edge-b --etcd "$ETCD" --name edge-b
  agent_b=${agent_pids[-1]}
}
# crashed_b: edge-b's agent died at its fault point.
crashed_b() { wait_until 30 bash -c "! kill -0 $agent_b 2>/dev/null" || fail "edge-b's agent did not crash"; }

start_b
step "(d) etcd stopped before a handoff"
start_counter own-d
"$TESTBED" etcd stop
etcd_stopped=yes
fleet_migrate own-d
"$TESTBED" etcd start
etcd_stopped=no
[ "$migrate_status" != 0 ] && [ "$migrate_status" != 3 ] || fail "(d): dockmig migrate exited $migrate_status, expected a refusal"
grep -q "refusing the handoff before the freeze" "$errors" || fail "(d): the error does not say it refused before the freeze"
grep -q "$ETCD" "$errors" || fail "(d): the error does not name etcd"
running edge-a own-d || fail "(d): own-d no longer runs on edge-a"
[ "$(field "['phases']['checkpoint']['seconds']" 2>/dev/null || echo none)" = none ] || fail "(d): it got to the checkpoint"
! exists edge-b own-d || fail "(d): edge-b has a container own-d"
wait_until 20 in_ns edge-a etcdctl --endpoints "$ETCD" endpoint health >/dev/null 2>&1 || fail "etcd did not come back"

step "(a) a handoff commits by the record"
start_counter own-a
fleet_migrate own-a
[ "$migrate_status" = 0 ] || fail "(a): dockmig migrate exited $migrate_status"
[ "$(owner own-a)" = edge-b ] || fail "(a): the record names '$(owner own-a)', expected edge-b"
running edge-b own-a || fail "(a): own-a does not run on edge-b"
! exists edge-a own-a || fail "(a): the source is still on edge-a"
count=$(count_of edge-b own-a)
[ "$count" -gt 20 ] || fail "(a): the count restarted ($count)"
step "(a) the record names edge-b; count $count on edge-b"
# A stray copy on edge-a, which the record does not name: its handoff is refused.
dk edge-a run -d --name own-a --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
fleet_migrate own-a
[ "$migrate_status" != 0 ] || fail "(a): a handoff of own-a from edge-a, which the record does not name, succeeded"
grep -q "runs on \`edge-b\`" "$errors" || fail "(a): the refusal does not name the owner edge-b"
running edge-a own-a || fail "(a): the refused copy on edge-a stopped"
dk edge-a rm -f own-a >/dev/null

step "(c) the destination dies right before its swap"
start_counter own-c
start_b destination.before-swap=crash
fleet_migrate own-c
crashed_b
[ "$migrate_status" != 0 ] && [ "$migrate_status" != 3 ] || fail "(c): dockmig migrate exited $migrate_status, expected a failure with the source running"
[ "$(field "['rolled_back']")" = True ] || fail "(c): the report does not say rolled back"
running edge-a own-c || fail "(c): the source was not resumed"
[ "$(owner own-c)" = edge-a ] || fail "(c): the record names '$(owner own-c)', expected edge-a"
start_b
wait_until 15 bash -c "! '$TESTBED' docker edge-b inspect own-c >/dev/null 2>&1" \
  || fail "(c): edge-b's agent, started again, left its copy of own-c"
step "(c) resumed on edge-a, nothing left on edge-b, the record names edge-a"

step "(b) the destination dies right after its swap and restore, before telling the source"
start_counter own-b
start_b destination.before-restored-reply=crash
fleet_migrate own-b
crashed_b
[ "$migrate_status" = 3 ] || fail "(b): dockmig migrate exited $migrate_status, expected 3 (needs attention)"
grep -q "names \`edge-b\`" "$errors" || fail "(b): the error does not say the record names edge-b"
! running edge-a own-b || fail "(b): the source was resumed though the record names edge-b"
running edge-b own-b || fail "(b): own-b does not run on edge-b"
[ "$(owner own-b)" = edge-b ] || fail "(b): the record names '$(owner own-b)', expected edge-b"
count=$(count_of edge-b own-b)
[ "$count" -gt 20 ] || fail "(b): the count restarted ($count)"
grep -q '"destination_owns"' "$BED_STATE"/agent-edge-a/journal/source-*.json \
  || fail "(b): the source's journal does not say the destination owns it"
# While edge-b's agent is down, recover with the record leaves the source stopped, in doubt.
recover_status=0
in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" \
  --etcd "$ETCD" --fleet-name edge-a >"$report" || recover_status=$?
[ "$recover_status" = 3 ] || fail "(b): recover with edge-b down exited $recover_status, expected 3 (in doubt)"
grep -q "names \`edge-b\`" "$report" || fail "(b): recover does not say the record names edge-b: $(cat "$report")"
! running edge-a own-b || fail "(b): recover resumed the source though the record names edge-b"
start_b
recover_status=0
in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" || recover_status=$?
[ "$recover_status" = 0 ] || fail "(b): dockmig recover exited $recover_status"
! exists edge-a own-b || fail "(b): recover did not remove the stopped source"
running edge-b own-b || fail "(b): own-b stopped running on edge-b"
step "(b) the source stayed stopped, edge-b runs own-b (count $count), the record names edge-b"

if [ "${DOCKMIG_LONG_TESTS:-0}" != 1 ]; then
  pass "the record decided every case; one copy ran each time ((b2) only with DOCKMIG_LONG_TESTS=1)"
  exit 0
fi
step "(b2) the destination dies right after its swap, before the restore"
start_counter own-e
start_b destination.after-swap=crash
fleet_migrate own-e
crashed_b
[ "$migrate_status" = 3 ] || fail "(b2): dockmig migrate exited $migrate_status, expected 3 (needs attention)"
! running edge-a own-e || fail "(b2): the source was resumed though the record names edge-b"
[ "$(owner own-e)" = edge-b ] || fail "(b2): the record names '$(owner own-e)', expected edge-b"
start_b
wait_until 20 running edge-b own-e || fail "(b2): edge-b's agent, started again, did not start its copy"
count=$(count_of edge-b own-e)
[ "$count" -gt 20 ] || fail "(b2): the count restarted ($count)"
pass "the record decided every case; one copy ran each time"
