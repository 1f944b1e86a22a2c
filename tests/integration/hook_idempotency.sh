# A gateway retries its POST with the same Idempotency-Key: it gets the same handoff back,
# while it runs and after it ended, and only one migration happens. A second handoff of
# the same container (by name or by id) while the first runs gets 409 naming the first; the
# key reused for another request gets 422. The agent holds the first handoff in presync
# (paused at the fault point source.before-presync) so that it is surely running meanwhile.
source "$(dirname "$0")/hook_lib.sh"
need_fault_points
start_hook_agent edge-b
hook_agent_env=(DOCKMIG_FAULTS=source.before-presync=pause)
start_hook_agent edge-a
start_counter edge-a hook-idem
container_id=$(dk edge-a inspect -f '{{.Id}}' hook-idem)
request="{\"container\":\"hook-idem\",\"destination\":\"$EDGE_B_ADDR:$hook_link_port\"}"

post_json edge-a /v1/handoffs "$request" -H "Idempotency-Key: gw-req-1"
expect_status 202 "first POST"
id=$(body "['id']")
post_json edge-a /v1/handoffs "$request" -H "Idempotency-Key: gw-req-1" -D "$hook_dir/headers"
expect_status 202 "retried POST, same key"
[ "$(body "['id']")" = "$id" ] || fail "the retry got handoff $(body "['id']"), not $id"
grep -qi '^Idempotent-Replayed: true' "$hook_dir/headers" || fail "the retry is not marked Idempotent-Replayed"

post_json edge-a /v1/handoffs "$request"
expect_status 409 "second handoff of hook-idem"
[ "$(body "['handoff']")" = "$id" ] || fail "the 409 names $(body "['handoff']"), not the running $id"
post_json edge-a /v1/handoffs "{\"container\":\"${container_id:0:12}\",\"destination\":\"$EDGE_B_ADDR:$hook_link_port\"}"
expect_status 409 "second handoff of hook-idem by its id"
post_json edge-a /v1/handoffs "{\"container\":\"hook-idem\",\"destination\":\"$EDGE_A_ADDR:$hook_link_port\"}" \
  -H "Idempotency-Key: gw-req-1"
expect_status 422 "the same key for another request"

api edge-a GET "/v1/handoffs/$id"
case "$(body "['state']")" in running:*) ;; *) fail "the held handoff is $(body "['state']"), not running" ;; esac
fault_release source.before-presync
wait_handoff edge-a "$id" 180
[ "$state" = succeeded ] || fail "the handoff ended $state: $(body "['reason']")"

post_json edge-a /v1/handoffs "$request" -H "Idempotency-Key: gw-req-1"
expect_status 202 "the retry after the end"
[ "$(body "['id']")" = "$id" ] || fail "the retry after the end got $(body "['id']")"
[ "$(body "['state']")" = succeeded ] || fail "the replayed handoff shows $(body "['state']")"
api edge-a GET /v1/handoffs
[ "$(body "['handoffs'].__len__()")" = 1 ] || fail "$(body "['handoffs'].__len__()") handoffs were made, expected 1"
running edge-b hook-idem || fail "hook-idem does not run on edge-b"
exists edge-a hook-idem && fail "edge-a still has hook-idem"
[ "$(grep -c 'handed hook-idem off' "$hook_dir/agent-edge-a.log")" = 1 ] || fail "the agent did not hand off exactly once"
pass "one handoff ($id) for three POSTs with one key"
