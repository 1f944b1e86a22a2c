# A gateway asks edge-a's agent, over HTTPS with its token, to hand a counter off to
# edge-b. The POST answers 202 at once; the event stream shows every phase in order and
# ends with the end event; the handoff's status then says succeeded with the CLI's report
# (transport tls); the counter carries on at edge-b from at least the value it had when the
# handoff was asked for, and edge-a keeps no copy.
source "$(dirname "$0")/hook_lib.sh"
start_hook_agent edge-b
start_hook_agent edge-a
start_counter edge-a hook-web
# Five seconds of counting first: a counter started afresh at edge-b could not catch up
# with this value in the moment between the restore and the check.
wait_until 15 count_at_least edge-a hook-web 50 || fail "the counter on edge-a did not reach 50"
asked_at=$(count_of edge-a hook-web)

started=$SECONDS
post_json edge-a /v1/handoffs "{\"container\":\"hook-web\",\"destination\":\"$EDGE_B_ADDR:$hook_link_port\"}"
expect_status 202 "POST /v1/handoffs"
[ $((SECONDS - started)) -le 3 ] || fail "the POST took $((SECONDS - started)) s; it must answer at once"
id=$(body "['id']")
[ "$(body "['links']['events']")" = "/v1/handoffs/$id/events" ] || fail "the answer lacks the events link"

# The stream replays from the first event, so starting it after the POST misses nothing.
events=$hook_dir/events
in_ns edge-a timeout 240 curl -sSN --cacert "$certs/ca.pem" -H "Authorization: Bearer $gateway_token" \
  "https://$EDGE_A_ADDR:$hook_api_port/v1/handoffs/$id/events" >"$events" || fail "the event stream broke off"
phases=$(awk '/^event: phase-started/ {getline; print}' "$events" \
  | python3 -c 'import json,sys; print(" ".join(json.loads(l[6:])["phase"] for l in sys.stdin))')
step "phases in the event stream: $phases"
[ "$phases" = "plan image presync precopy checkpoint finalsync restore confirm" ] || fail "phases out of order or missing"
finished=$(awk '/^event: phase-finished/ {n++} END {print n+0}' "$events")
[ "$finished" = 8 ] || fail "$finished phase-finished events, expected 8"
[ "$(awk '/^event: / {last = $2} END {print last}' "$events")" = end ] \
  || fail "the stream did not close with the end event: $(tail -n3 "$events")"
grep -A1 '^event: end$' "$events" | grep -q '"state":"succeeded"' || fail "the end event does not say succeeded"

api edge-a GET "/v1/handoffs/$id"
expect_status 200 "GET /v1/handoffs/$id"
[ "$(body "['state']")" = succeeded ] || fail "state $(body "['state']")"
[ "$(body "['report']['succeeded']")" = True ] || fail "the report does not say succeeded"
[ "$(body "['report']['transport']")" = tls ] || fail "the report's transport is $(body "['report']['transport']")"
[ "$(body "['caller']")" = gateway-1 ] || fail "caller $(body "['caller']")"
for p in plan image presync precopy checkpoint finalsync restore confirm; do
  step "$p: $(body "['report']['phases']['$p']['seconds']") s, $(body "['report']['phases']['$p']['wire_bytes']") bytes"
done

running edge-b hook-web || fail "hook-web does not run on edge-b"
exists edge-a hook-web && fail "edge-a still has hook-web"
count=$(count_of edge-b hook-web)
step "count: $asked_at on edge-a when the handoff was asked for, $count on edge-b after it"
[ "$count" -ge "$asked_at" ] || fail "the count restarted at edge-b: $count, it was $asked_at before the handoff"
wait_until 10 count_at_least edge-b hook-web $((count + 5)) || fail "the counter stopped at $count on edge-b"
pass "handoff $id over HTTP, count $asked_at -> $count, downtime $(body "['report']['downtime_seconds']") s"
