# SIGINT and SIGTERM to `dockmig migrate` (docs/error-handling.md, "Signals"). Before the
# freeze the migration stops and the source never stops. After it, until the checkpoint
# crosses, it rolls back: the source is resumed from its checkpoint. Once the checkpoint
# crossed, it runs on to its end and commits. In every case exactly one copy runs, its
# counter carried on from the value it had when frozen (read from its writable layer,
# outside dockmig) with no gap, and dockmig exits 130; a second signal changes nothing.
# Also the other exit statuses a user scripts against: 2 for bad input, and 3 when the
# destination dies once its copy may have started, so only a person can settle it.
source "$(dirname "$0")/lib.sh"
need_fault_points
start_agent edge-b
agent_b=${agent_pids[-1]}
# The counter also appends each value to a log through one open descriptor: a restart or
# a lost stretch shows as a line out of order.
service='mkdir -p /data && exec 3>>/data/ticks
i=0; while true; do i=$((i+1)); '"$write_count"'; echo $i >&3; sleep 0.1; done'
dk edge-a run -d --name mig-sig --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a mig-sig 50 || fail "the counter did not start"

frozen=$(mktemp)
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors" "$frozen"' EXIT
absent() { ! exists "$1" mig-sig; }
upper_of() { upper_dir_of "$1" mig-sig; }
# Records the count the frozen container left in its writable layer.
record_frozen() { count_in_layer "$(upper_of edge-a)" >"$frozen" || true; }
# Sends SIGNAL to the paused dockmig, then lets it act on it.
signal_dockmig() { kill -"$1" "$paused_pid"; sleep 0.5; }

# expect_one_copy WHAT HOST BEFORE: mig-sig runs on HOST only, its count went on from the
# frozen value (or BEFORE, when the freeze left the file between two writes) without a gap.
expect_one_copy() {
  local what=$1 host=$2 before=$3 other=edge-a start now gap
  [ "$host" = edge-a ] && other=edge-b
  running "$host" mig-sig || fail "$what: mig-sig does not run on $host"
  wait_until 15 absent "$other" || fail "$what: $other still has mig-sig"
  start=$(cat "$frozen" 2>/dev/null || true)
  [[ $start =~ ^[0-9]+$ ]] || start=$before
  now=$(count_of "$host" mig-sig)
  [ "$now" -ge "$start" ] || fail "$what: the count restarted: $now, it was $start when frozen"
  wait_until 10 count_at_least "$host" mig-sig $((now + 5)) || fail "$what: the counter stopped at $now"
  gap=$(dk "$host" exec mig-sig awk '$1 != NR {print NR ": " $1; exit}' /data/ticks)
  [ -z "$gap" ] || fail "$what: the tick log breaks at line $gap"
  step "$what: one copy, on $host, counting on from $start (now $(count_of "$host" mig-sig))"
}

# expect_interrupted WHAT SIGNAL: dockmig exited 130 and said why.
expect_interrupted() {
  [ "$migrate_status" = 130 ] || fail "$1: exit $migrate_status, expected 130"
  grep -q "interrupted by $2" "$errors" || fail "$1: stderr does not say \`interrupted by $2\`"
}

step "exit 2: bad input"
migrate edge-a edge-b no-such-container
[ "$migrate_status" = 2 ] || fail "an unknown container: exit $migrate_status, expected 2"
migrate edge-a edge-b mig-sig --mode warp
[ "$migrate_status" = 2 ] || fail "an unknown --mode: exit $migrate_status, expected 2"

step "SIGINT just before the freeze: the migration stops, the source never stopped"
rm -f "$frozen"
before=$(count_of edge-a mig-sig)
migrate_pausing source.before-checkpoint 'signal_dockmig INT' -- edge-a edge-b mig-sig
expect_interrupted "before the freeze" SIGINT
[ "$(phase_field checkpoint seconds 2>/dev/null || echo 0)" = 0 ] || fail "before the freeze: it checkpointed"
grep -q "stopped before the freeze" "$errors" || fail "before the freeze: stderr does not say where it runs"
expect_one_copy "SIGINT before the freeze" edge-a "$before"

step "SIGINT after the freeze, before finalsync: rolled back"
before=$(count_of edge-a mig-sig)
migrate_pausing source.before-finalsync 'record_frozen; signal_dockmig INT' -- edge-a edge-b mig-sig
expect_interrupted "SIGINT after the freeze" SIGINT
[ "$(field "['rolled_back']")" = True ] || fail "SIGINT after the freeze: the report does not say rolled back"
grep -q "resumed from its checkpoint" "$errors" || fail "SIGINT after the freeze: stderr does not say where it runs"
expect_one_copy "SIGINT after the freeze" edge-a "$before"

# 12 MB of random bytes written after presync cross in finalsync, seconds on the bed's link;
# SIGTERM comes 1 s into that, and SIGINT 0.05 s after it: while dockmig rolls back, whose
# resume of the source alone takes Docker 0.2 s or more (with 0.3 s a fast machine had
# resumed and exited before the SIGINT came).
step "SIGTERM, then SIGINT, in the middle of finalsync: rolled back"
rm -f "$frozen"
before=$(count_of edge-a mig-sig)
started=$SECONDS
migrate_pausing \
  source.before-checkpoint "dk edge-a exec mig-sig sh -c 'head -c 12000000 /dev/urandom >/data/big'" \
  source.before-finalsync 'record_frozen; (sleep 1; kill -TERM $paused_pid; sleep 0.05; kill -INT $paused_pid) >/dev/null 2>&1 &' \
  -- edge-a edge-b mig-sig
expect_interrupted "SIGTERM in finalsync" SIGTERM
[ "$(field "['rolled_back']")" = True ] || fail "SIGTERM in finalsync: the report does not say rolled back"
grep -q "already stopping" "$errors" || fail "SIGTERM in finalsync: the second signal was not answered"
sent=$(phase_field finalsync wire_bytes)
[ "$sent" -lt 12000000 ] || fail "SIGTERM in finalsync: finalsync sent all of its $sent bytes; the signal came too late"
expect_one_copy "SIGTERM in finalsync ($sent bytes of finalsync sent, $((SECONDS - started)) s)" edge-a "$before"

# The source is left frozen: while the destination is down nobody can say whether its copy
# started, so dockmig must not guess. The restarted agent removes what it had made and its
# ledger says aborted, so `dockmig recover`, the hint's command, resumes the source.
step "exit 3: the destination dies once its copy may have started"
rm -f "$frozen"
before=$(count_of edge-a mig-sig)
migrate_pausing source.before-restore 'record_frozen; kill -9 $agent_b; sleep 0.5' -- edge-a edge-b mig-sig
[ "$migrate_status" = 3 ] || fail "destination dead after the checkpoint crossed: exit $migrate_status, expected 3"
grep -q 'dockmig recover --resume mig-sig' "$errors" || fail "exit 3: the hint does not name the command that settles it"
! running edge-a mig-sig || fail "exit 3: the source runs although the destination may have started its copy"
start_agent edge-b
agent_b=${agent_pids[-1]}
wait_until 15 absent edge-b || fail "exit 3: the restarted agent on edge-b left mig-sig"
in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" \
  || fail "exit 3: dockmig recover did not settle it"
expect_one_copy "exit 3, settled by dockmig recover" edge-a "$before"

step "SIGTERM, then SIGINT, once the checkpoint crossed: the migration commits"
rm -f "$frozen"
before=$(count_of edge-a mig-sig)
migrate_pausing source.before-finalsync record_frozen \
  source.before-restore 'kill -TERM $paused_pid; sleep 0.3; signal_dockmig INT' -- edge-a edge-b mig-sig
expect_interrupted "SIGTERM after the checkpoint crossed" SIGTERM
[ "$(field "['succeeded']")" = True ] || fail "SIGTERM after the checkpoint crossed: the report does not say succeeded"
grep -q "runs at the destination" "$errors" || fail "SIGTERM after the checkpoint crossed: stderr does not say where it runs"
expect_one_copy "SIGTERM after the checkpoint crossed" edge-b "$before"
pass "130 before, during and after the freeze, one copy each time; 2 for bad input; 3 when only a person can settle it"
