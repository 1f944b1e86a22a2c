# A preparation outlives the agents: POST /v1/prepare warms edge-b, then both agents are
# killed (-9, no chance to save anything then) and started again, and the handoff that
# follows still uses the preparation: only what changed since crosses (its report's
# prepared_bytes_saved covers the 2 MB of random data the preparation sent), the counter
# continues at edge-b, and the preparation's files are gone on both hosts afterwards.
# Then back: edge-b's agent prepares edge-a, is killed and restarted, and `dockmig
# migrate --state-dir` (the agent's) uses that preparation, as a CLI on the host would.
source "$(dirname "$0")/hook_lib.sh"
start_hook_agent edge-b; agent_b=$agent_pid
start_hook_agent edge-a; agent_a=$agent_pid
service='head -c 2000000 /dev/urandom > /blob; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name hook-restart --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a hook-restart 5 || fail "hook-restart did not start"

kill_agent() { kill -9 "$1"; wait "$1" 2>/dev/null || true; }
# prepare HOST TO: POST /v1/prepare of hook-restart on HOST for TO's agent.
prepare() {
  post_json "$1" /v1/prepare "{\"container\":\"hook-restart\",\"destination\":\"$(addr_of "$2"):$hook_link_port\"}" \
    --max-time 300
  expect_status 200 "POST /v1/prepare of hook-restart on $1 for $2"
  local records
  records=$(find "$hook_dir/state-$1/warm" -name '*.prep' | wc -l)
  [ "$records" = 1 ] || fail "$1 keeps $records preparation records, expected 1"
  [ -n "$(ls -A "$hook_dir/state-$2/staging/warm" 2>/dev/null)" ] || fail "$2 keeps no warm dir"
}
# check_used SAVED PRESYNC FROM TO BEFORE: the handoff used the preparation, the counter
# continued at TO (from BEFORE), and neither host keeps the preparation's files.
check_used() {
  local saved=$1 presync=$2 from=$3 to=$4 before=$5 count left
  step "$from -> $to: presync sent $presync bytes, prepared_bytes_saved $saved"
  [ "$saved" -gt 1000000 ] || fail "the report says the preparation saved $saved bytes: it was not used"
  [ "$presync" -lt 1000000 ] || fail "the presync sent $presync bytes: more than what changed since"
  running "$to" hook-restart || fail "hook-restart does not run on $to"
  exists "$from" hook-restart && fail "$from still has hook-restart"
  count=$(count_of "$to" hook-restart)
  [ "$count" -ge "$before" ] || fail "the count restarted at $to ($count, was $before before the handoff)"
  [ "$(dk "$to" exec hook-restart wc -c < /dev/null /blob | awk '{print $1}')" = 2000000 ] || fail "/blob did not survive"
  left=$(find "$hook_dir/state-$from/warm" -mindepth 1 | wc -l)
  [ "$left" = 0 ] || fail "$from kept $left preparation files after the handoff used them"
  [ -z "$(ls -A "$hook_dir/state-$to/staging/warm" 2>/dev/null)" ] || fail "$to kept a warm dir after the handoff"
  step "count $before -> $count at $to"
}

prepare edge-a edge-b
kill_agent "$agent_a"; kill_agent "$agent_b"
step "both agents killed"
start_hook_agent edge-b; agent_b=$agent_pid
start_hook_agent edge-a
grep -q "preparation.*dropped" "$hook_dir/agent-edge-a.log" && fail "edge-a dropped the preparation at start"
before=$(count_of edge-a hook-restart)
handoff_via_api edge-a hook-restart "$(addr_of edge-b):$hook_link_port"
check_used "$(body "['report'].get('prepared_bytes_saved', 0)")" "$(body "['report']['phases']['presync']['wire_bytes']")" \
  edge-a edge-b "$before"

prepare edge-b edge-a
kill_agent "$agent_b"
start_hook_agent edge-b
before=$(count_of edge-b hook-restart)
read -ra security <<<"$(tls_for edge-b)"
migrate_tls edge-b edge-a hook-restart "${security[@]}" --state-dir "$hook_dir/state-edge-b"
[ "$migrate_status" = 0 ] || fail "dockmig migrate back to edge-a: exit $migrate_status"
check_used "$(field "['prepared_bytes_saved']")" "$(phase_field presync wire_bytes)" edge-b edge-a "$before"
pass "both preparations outlived their agents and were used, by the API and by dockmig migrate"
