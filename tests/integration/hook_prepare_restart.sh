# A preparation outlives both agents: POST /v1/prepare warms edge-b, then both agents are
# killed (-9, no chance to save anything then) and started again, and the handoff that
# follows still uses the preparation: only what changed since crosses (its report's
# prepared_bytes_saved covers the 2 MB of random data the preparation sent), the counter
# continues at edge-b, and the preparation's files are gone on both hosts afterwards.
source "$(dirname "$0")/hook_lib.sh"
start_hook_agent edge-b; agent_b=$agent_pid
start_hook_agent edge-a; agent_a=$agent_pid
service='head -c 2000000 /dev/urandom > /blob; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name hook-restart --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a hook-restart 5 || fail "hook-restart did not start"
dest="$EDGE_B_ADDR:$hook_link_port"
source_warm=$hook_dir/state-edge-a/warm
dest_warm=$hook_dir/state-edge-b/staging/warm

post_json edge-a /v1/prepare "{\"container\":\"hook-restart\",\"destination\":\"$dest\"}" --max-time 300
expect_status 200 "POST /v1/prepare for hook-restart"
step "the preparation sent $(body "['wire_bytes']") bytes"
records=$(find "$source_warm" -name '*.prep' | wc -l)
[ "$records" = 1 ] || fail "edge-a keeps $records preparation records in $source_warm, expected 1"
[ -n "$(ls -A "$dest_warm" 2>/dev/null)" ] || fail "edge-b keeps no warm dir in $dest_warm"

for pid in "$agent_a" "$agent_b"; do kill -9 "$pid"; wait "$pid" 2>/dev/null || true; done
step "both agents killed"
start_hook_agent edge-b
start_hook_agent edge-a
grep -q "preparation.*dropped" "$hook_dir/agent-edge-a.log" && fail "edge-a dropped the preparation at start"

before=$(count_of edge-a hook-restart)
post_json edge-a /v1/handoffs "{\"container\":\"hook-restart\",\"destination\":\"$dest\"}"
expect_status 202 "POST /v1/handoffs after the restarts"
wait_handoff edge-a "$(body "['id']")" 300
[ "$state" = succeeded ] || fail "the handoff ended $state: $(body "['reason']")"
saved=$(body "['report'].get('prepared_bytes_saved', 0)")
presync=$(body "['report']['phases']['presync']['wire_bytes']")
step "handoff: presync sent $presync bytes, prepared_bytes_saved $saved"
[ "$saved" -gt 1000000 ] || fail "the report says the preparation saved $saved bytes: it was not used"
[ "$presync" -lt 1000000 ] || fail "the presync sent $presync bytes: more than what changed since"

running edge-b hook-restart || fail "hook-restart does not run on edge-b"
exists edge-a hook-restart && fail "edge-a still has hook-restart"
count=$(count_of edge-b hook-restart)
[ "$count" -ge "$before" ] || fail "the count restarted at edge-b ($count, was $before before the handoff)"
[ "$(dk edge-b exec hook-restart wc -c < /dev/null /blob | awk '{print $1}')" = 2000000 ] || fail "/blob did not survive"
left=$(find "$source_warm" -mindepth 1 | wc -l)
[ "$left" = 0 ] || fail "edge-a kept $left preparation files after the handoff used them"
[ -z "$(ls -A "$dest_warm" 2>/dev/null)" ] || fail "edge-b kept a warm dir after the handoff: $(ls "$dest_warm")"
pass "prepared, both agents restarted, handoff saved $saved bytes, count $before -> $count"
