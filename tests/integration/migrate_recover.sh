# Decisions that survive a crash (docs/protocol.md, "Decisions that survive a crash").
# `dockmig migrate` killed -9 after the freeze, before the checkpoint crossed: the source
# is resumed from its checkpoint, by `dockmig recover` and by an agent starting on the
# source host. Killed -9 once the destination committed, with the destination's agent
# killed -9 too: while that agent is down recover leaves the source stopped and says what
# settles it; once the agent is back its durable ledger still says committed, so the copy
# there is kept, the source is not resumed, and the stopped source goes. Every time exactly
# one copy runs, its counter carried on from where it was frozen.
source "$(dirname "$0")/lib.sh"
need_fault_points
start_agent edge-b
agent_b=${agent_pids[-1]}
dk edge-a run -d --name mig-rec --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 20 count_at_least edge-a mig-rec 20 || fail "the counter did not start"
state_a="$BED_STATE/agent-edge-a"
recovered=$(mktemp)
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors" "$recovered"' EXIT
absent() { ! exists "$1" mig-rec; }
journaled() { ls "$state_a/journal"/source-*.json >/dev/null 2>&1; }

# migrate_killed_at POINT [COMMAND]: `dockmig migrate` killed -9 at the fault point POINT
# (after the test ran COMMAND there); the only place this test reaches inside a migration.
migrate_killed_at() {
  if [ $# = 1 ]; then
    DOCKMIG_FAULTS=$1=crash migrate edge-a edge-b mig-rec
  else
    migrate_pausing "$1" "$2; kill -9 \$paused_pid; sleep 1" -- edge-a edge-b mig-rec
  fi
  [ "$migrate_status" = 137 ] || fail "$1: dockmig exited $migrate_status, expected 137 (killed)"
  ! running edge-a mig-rec || fail "$1: the source runs, though dockmig was killed after the freeze"
  journaled || fail "$1: no journal entry under $state_a/journal"
}

# recover: `dockmig recover --json` on edge-a; its output in $recovered, exit in $recover_status.
recover() {
  recover_status=0
  in_ns edge-a "$DOCKMIG" recover --state-dir "$state_a" "${transport_args[@]}" --json >"$recovered" \
    || recover_status=$?
  sed 's/^/    recover: /' "$recovered"
}
outcome() { python3 -c "import json; r=json.load(open('$recovered')); print(r['migrations'][0]['$1'])"; }

# expect_one_copy WHAT HOST BEFORE: mig-rec runs on HOST only, counting on from BEFORE.
expect_one_copy() {
  local what=$1 host=$2 before=$3 other=edge-a now
  [ "$host" = edge-a ] && other=edge-b
  running "$host" mig-rec || fail "$what: mig-rec does not run on $host"
  wait_until 15 absent "$other" || fail "$what: $other still has mig-rec"
  now=$(count_of "$host" mig-rec)
  [ "$now" -ge "$before" ] || fail "$what: the count restarted: $now, it was at least $before when frozen"
  wait_until 10 count_at_least "$host" mig-rec $((now + 5)) || fail "$what: the counter stopped at $now"
  ! journaled || fail "$what: the journal still holds an entry"
  step "$what: one copy, on $host, counting on from $before (now $(count_of "$host" mig-rec))"
}

step "killed after the freeze, before the checkpoint crossed: recover resumes the source"
before=$(count_of edge-a mig-rec)
migrate_killed_at source.before-finalsync
wait_until 15 absent edge-b || fail "the destination kept its container after the source died"
recover
[ "$recover_status" = 0 ] || fail "recover exited $recover_status, expected 0"
[ "$(outcome outcome)" = resumed ] || fail "recover did not resume the source"
expect_one_copy "killed before the checkpoint crossed, recovered" edge-a "$before"

step "the same, settled by the agent starting on the source host"
before=$(count_of edge-a mig-rec)
migrate_killed_at source.before-finalsync
start_agent edge-a
wait_until 30 running edge-a mig-rec || fail "the agent on edge-a did not resume the source at its start"
wait_until 10 grep -q "resumed here from its checkpoint" "$BED_STATE/agent-edge-a.log" || fail "the agent's log does not say it resumed"
expect_one_copy "killed before the checkpoint crossed, settled at agent start" edge-a "$before"
kill "${agent_pids[-1]}"; wait "${agent_pids[-1]}" 2>/dev/null || true; unset 'agent_pids[-1]'

step "killed once the destination committed, its agent killed -9 too"
before=$(count_of edge-a mig-rec)
migrate_killed_at source.before-record-commit "kill -9 $agent_b"
running edge-b mig-rec || fail "the destination's copy does not run after its agent was killed"
recover
[ "$recover_status" = 3 ] || fail "recover with the destination down exited $recover_status, expected 3"
[ "$(outcome outcome)" = in_doubt ] || fail "recover with the destination down did not say in doubt"
outcome next | grep -q "dockmig recover --resume mig-rec" || fail "recover does not name the command that resumes"
! running edge-a mig-rec || fail "recover resumed the source while the destination could not be asked"
step "destination down: recover exits 3 and leaves the source stopped"
start_agent edge-b
sleep 2
running edge-b mig-rec || fail "the restarted agent on edge-b removed the committed copy"
recover
[ "$recover_status" = 0 ] || fail "recover exited $recover_status, expected 0"
[ "$(outcome outcome)" = handed_over ] || fail "recover did not learn that the destination committed"
expect_one_copy "killed after the commit, destination restarted, recovered" edge-b "$before"
pass "resumed when the checkpoint never crossed; handed over when the destination committed; 3 while it cannot be asked"
