# A control frame the link damaged is never acted on (docs/protocol.md, "Frames"). Over
# plain TCP (--insecure: no TLS record check to catch it first), `dockmig migrate` flips one
# bit of the first message it sends in the presync and of the first after the freeze (the
# finalsync), after each frame's checksum was taken. The destination finds each by its
# checksum, resets the link, and the conversation resumes with the message sent again from
# what the source kept: the handoff completes in one destination session with one freeze,
# the counter carries on at edge-b from where it was, and exactly one copy runs.
source "$(dirname "$0")/lib.sh"
need_fault_points
start_agent edge-b
agent_log=$BED_STATE/agent-edge-b.log
log_start=$(wc -l <"$agent_log")
new_agent_lines() { tail -n +$((log_start + 1)) "$agent_log"; }
ledger_entries() { { ls "$BED_STATE/agent-edge-b/journal"/destination-*.json 2>/dev/null || true; } | wc -l; }

dk edge-a run -d --name mig-frames --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 20 count_at_least edge-a mig-frames 20 || fail "the counter did not start"
entries_before=$(ledger_entries)

step "one bit flipped in the first message of the presync and of the finalsync"
before=$(count_of edge-a mig-frames)
DOCKMIG_FAULTS=transfer.presync-first-message-sending=corrupt,transfer.finalsync-first-message-sending=corrupt \
  migrate edge-a edge-b mig-frames
[ "$migrate_status" = 0 ] || fail "the handoff failed (exit $migrate_status); a damaged frame should resume the link"
[ "$(field '["succeeded"]')" = True ] || fail "the report does not say succeeded"
flipped=$(grep -c 'first-message-sending: corrupt' "$errors" || true)
[ "$flipped" = 2 ] || fail "dockmig migrate flipped $flipped message(s), expected 2"
refused=$(new_agent_lines | grep -c 'Message frame from .* failed its checksum' || true)
[ "$refused" = 2 ] || fail "edge-b's agent refused $refused damaged message(s), expected 2"
resumes=$(grep -c 'resumed after' "$errors" || true)
[ "$resumes" -ge 2 ] || fail "the source resumed its link $resumes time(s), expected 2 (one per damaged frame)"
step "ok: both damaged messages refused by their checksum, the link resumed $resumes times"

sessions=$(($(ledger_entries) - entries_before))
[ "$sessions" = 1 ] || fail "edge-b served $sessions migrations of the container, expected 1: the handoff restarted"
running edge-b mig-frames || fail "mig-frames does not run on edge-b"
! exists edge-a mig-frames || fail "edge-a still has mig-frames: two copies"
now=$(count_of edge-b mig-frames)
[ "$now" -ge "$before" ] || fail "the count restarted at edge-b: $now, it was $before before the handoff"
wait_until 10 count_at_least edge-b mig-frames $((now + 5)) || fail "the counter stopped at $now on edge-b"
pass "one session, one copy; the counter went on from $before (now $now)"
