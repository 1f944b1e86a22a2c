# Shared by fleet_partition.sh and fleet_partition_migrate.sh (after lib.sh): the service's
# ownership record as etcd holds it, edge-b's agent in the fleet armed with fault points,
# and a fleet handoff edge-a -> edge-b left running in the background.

# owner SERVICE: the host its ownership record names ("" when it has none).
owner() {
  in_ns edge-a etcdctl --endpoints "$ETCD" get "/dockmig/services/$1" --print-value-only |
    python3 -c 'import json,sys; t=sys.stdin.read().strip(); print(json.loads(t)["host"] if t else "")'
}
# writes_of SERVICE: how many times its record was written since it was created (etcd's version).
writes_of() {
  in_ns edge-a etcdctl --endpoints "$ETCD" get "/dockmig/services/$1" -w json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["version"])'
}
agent_b=
# start_b [FAULTS]: edge-b's agent in the fleet, armed with FAULTS (DOCKMIG_FAULTS) if given.
start_b() {
  if [ -n "$agent_b" ]; then kill "$agent_b" 2>/dev/null || true; wait "$agent_b" 2>/dev/null || true; fi
  DOCKMIG_FAULTS=${1:-} start_agent edge-b --etcd "$ETCD" --name edge-b
  agent_b=${agent_pids[-1]}
}
fleet_args=(--etcd "$ETCD" --fleet-name edge-a)
# migrate_in_background SERVICE: the fleet handoff edge-a -> edge-b, left running; its
# status is read by migrate_ended.
migrate_in_background() {
  rm -f "$DOCKMIG_FAULT_DIR/migrate-status"
  (migrate edge-a edge-b "$1" "${fleet_args[@]}"; echo "$migrate_status" >"$DOCKMIG_FAULT_DIR/migrate-status") &
  migrate_job=$!
}
migrate_ended() { wait "$migrate_job"; migrate_status=$(cat "$DOCKMIG_FAULT_DIR/migrate-status"); }
start_counter() {
  dk edge-a run -d --name "$1" --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
  wait_until 20 count_at_least edge-a "$1" 20 || fail "$1: the counter did not start"
}
gone_from_b() { ! "$TESTBED" docker edge-b inspect "$1" >/dev/null 2>&1; }
# late_swap_refused CASE SERVICE: edge-b, paused at destination.before-swap (holding
# everything) while edge-a fenced the record and resumed SERVICE, is let go: its swap from
# the revision the source claimed must be refused and it must remove its container, leaving
# one copy, on edge-a, which the record names, written twice (the claim, the fence). Without
# the fence the swap applies and edge-b starts a second copy: this says so. Sets $count.
late_swap_refused() {
  local case=$1 service=$2 log_from
  log_from=$(($(wc -l <"$BED_STATE/agent-edge-b.log") + 1))
  fault_release destination.before-swap
  if ! wait_until 30 gone_from_b "$service"; then
    ! { running edge-b "$service" && running edge-a "$service"; } ||
      fail "($case): two copies run: the late swap applied (the record names '$(owner "$service")') and edge-b started its copy beside edge-a's"
    fail "($case): the destination kept its container after its late swap (running: $(running edge-b "$service" && echo yes || echo no))"
  fi
  tail -n +"$log_from" "$BED_STATE/agent-edge-b.log" | grep -q "changed since revision" \
    || fail "($case): edge-b's agent does not say its swap found the record changed"
  running edge-a "$service" || fail "($case): $service stopped running on edge-a"
  [ "$(owner "$service")" = edge-a ] || fail "($case): the record names '$(owner "$service")', expected edge-a"
  [ "$(writes_of "$service")" = 2 ] || fail "($case): the record was written $(writes_of "$service") times, expected 2 (the claim, the fence)"
  count=$(count_of edge-a "$service")
  [ "$count" -gt 20 ] || fail "($case): the count restarted ($count)"
  step "($case) the late swap was refused: one copy, on edge-a (count $count), the record names it"
}
