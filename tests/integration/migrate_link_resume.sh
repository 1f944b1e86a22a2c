# Resuming a broken link (docs/protocol.md, "Resuming a broken link"). The edge link is
# cut silently (every packet dropped, no RST) in the middle of the presync's writable
# layer and again just after the freeze, each time for longer than the link's silence
# limit (10 s), so that both sides find the link gone and the source dials again: the
# handoff completes in one destination session with one freeze, the counter carries on at
# edge-b, the layer arrives intact, and only what the destination had not acknowledged
# crosses again. Then a cut longer than both grace periods, just after the freeze: both
# sides give up, the destination removes its container, and the source is resumed from
# its checkpoint and runs.
source "$(dirname "$0")/lib.sh"
need_fault_points
trap 'stop_agents; cleanup_containers; "$TESTBED" edge-link restore >/dev/null 2>&1 || true; rm -f "$report" "$errors"' EXIT
start_agent edge-b
agent_log=$BED_STATE/agent-edge-b.log
log_start=$(wc -l <"$agent_log")
new_agent_lines() { tail -n +$((log_start + 1)) "$agent_log"; }
# Each migration edge-b accepted leaves its ledger entry (docs/protocol.md).
ledger_entries() { { ls "$BED_STATE/agent-edge-b/journal"/destination-*.json 2>/dev/null || true; } | wc -l; }
cut_jobs=()
# cut_for SECONDS: the edge link drops everything for SECONDS, then carries again.
cut_for() { "$TESTBED" edge-link cut; sleep "$1"; "$TESTBED" edge-link restore; }
# cut_now SECONDS: cut before the paused dockmig goes on, restored SECONDS later.
cut_now() {
  "$TESTBED" edge-link cut
  (sleep "$1"; "$TESTBED" edge-link restore) &
  cut_jobs+=($!)
}
mib=$((1024 * 1024))

# 12 MiB that do not compress take some 20 s over the bed's 5 Mbit/s edge link.
dk edge-a run -d --name mig-link --label "$label" "$IMAGE_TINY" \
  sh -c "dd if=/dev/urandom of=/layer.bin bs=$mib count=12 2>/dev/null; $counter_cmd" >/dev/null
wait_until 20 count_at_least edge-a mig-link 20 || fail "the counter did not start"
layer_sum=$(dk edge-a exec mig-link md5sum /layer.bin | cut -d' ' -f1)

step "cut for 15 s some 6 s into the writable layer, and for 15 s just after the freeze"
entries_before=$(ledger_entries)
frozen_at=0
migrate_pausing \
  transfer.presync-first-chunk-sending '(sleep 6; cut_for 15) & cut_jobs+=($!)' \
  source.before-finalsync 'frozen_at=$(count_of edge-a mig-link); cut_now 15' \
  -- edge-a edge-b mig-link
wait "${cut_jobs[@]}"; cut_jobs=()
[ "$migrate_status" = 0 ] || fail "the handoff failed (exit $migrate_status) although each cut was under 30 s"
[ "$(field '["succeeded"]')" = True ] || fail "the report does not say succeeded"
resumes=$(grep -c 'resumed after' "$errors" || true)
[ "$resumes" -ge 2 ] || fail "the source resumed its link $resumes time(s), expected at least 2 (one per cut)"
resent=$(sed -n 's/.*broke and resumed [0-9]* time(s); \([0-9]*\) bytes sent again.*/\1/p' "$errors")
[ -n "$resent" ] || fail "dockmig migrate did not say how many bytes it sent again"
presync_wire=$(phase_field presync wire_bytes)
[ "$presync_wire" -ge $((12 * mib)) ] || fail "the presync moved only $presync_wire bytes"
[ "$resent" -lt $((6 * mib)) ] || fail "$resent bytes were sent again: not far less than the 12 MiB layer"
step "ok: two cuts resumed, $resent bytes sent again of $presync_wire in the presync"

sessions=$(($(ledger_entries) - entries_before))
[ "$sessions" = 1 ] || fail "edge-b served $sessions migrations of the container, expected 1: the handoff restarted"
new_agent_lines | grep -q 'resumed after' || fail "edge-b's agent does not say its link resumed"
running edge-b mig-link || fail "mig-link does not run on edge-b"
! exists edge-a mig-link || fail "edge-a still has mig-link"
now=$(count_of edge-b mig-link)
[ "$now" -ge "$frozen_at" ] || fail "the count restarted at edge-b: $now, it was $frozen_at when frozen"
wait_until 10 count_at_least edge-b mig-link $((now + 5)) || fail "the counter stopped at $now on edge-b"
[ "$(dk edge-b exec mig-link md5sum /layer.bin | cut -d' ' -f1)" = "$layer_sum" ] \
  || fail "the 12 MiB file differs at edge-b"
step "ok: one session, one freeze; the counter went on from $frozen_at (now $now), the layer is intact"

step "cut for 85 s just after the freeze: longer than both grace periods"
dk edge-a run -d --name mig-long --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 20 count_at_least edge-a mig-long 20 || fail "the second counter did not start"
migrate_pausing \
  source.before-finalsync 'frozen_at=$(count_of edge-a mig-long); cut_now 85' \
  -- edge-a edge-b mig-long
wait "${cut_jobs[@]}"
[ "$migrate_status" = 1 ] || fail "dockmig migrate exited $migrate_status after the long cut, expected 1 (rolled back)"
[ "$(field '["rolled_back"]')" = True ] || fail "the report does not say rolled back"
grep -q 'could not be resumed' "$errors" || fail "the error does not say the link could not be resumed"
running edge-a mig-long || fail "mig-long does not run on edge-a after the rollback"
now=$(count_of edge-a mig-long)
[ "$now" -ge "$frozen_at" ] || fail "the count restarted at edge-a: $now, it was $frozen_at when frozen"
wait_until 10 count_at_least edge-a mig-long $((now + 5)) || fail "the counter stopped at $now on edge-a"
long_gone_at_b() { ! exists edge-b mig-long; }
wait_until 30 long_gone_at_b || fail "edge-b kept its container mig-long"
leftover=$(ls "$BED_STATE/agent-edge-b/staging" 2>/dev/null | grep -v '^warm$' || true)
[ -z "$leftover" ] || fail "edge-b's staging dir holds $leftover"
! ls "$BED_STATE/agent-edge-a/journal"/source-*.json >/dev/null 2>&1 || fail "the source's journal still holds an entry"
step "ok: rolled back after the long cut; mig-long counts on at edge-a from $frozen_at, nothing left at edge-b"
pass
