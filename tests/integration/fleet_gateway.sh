# The gateway's view of the fleet (docs/fleet.md, "The gateway's view"), on the bed's etcd
# with three agents serving the HTTPS API (edge-c is a second agent in edge-b's namespace,
# on edge-b's dockerd, with edge-b's certificate):
#  - `fleet handoff` refuses an unknown service, an unknown host and the host that already
#    runs the service (exit 2), before anything moves;
#  - POST /v1/prepare names two likely next hosts (edge-b, edge-c); both are warmed;
#  - `fleet handoff gw-svc --to edge-b` finds the source (edge-a) by itself, moves the
#    container with its counter carried on, and the record then names edge-b; the
#    preparation made it send less than the 2 MB of random data in its writable layer;
#  - the unused preparation (edge-c) is dropped after --prepare-ttl, its staged data gone
#    at edge-c and its record at the source;
#  - the API: GET /v1/fleet/hosts and /v1/fleet/services/NAME; POST /v1/fleet/handoff at
#    an agent that is not the source answers 307 with the source's API; at the source it
#    hands the service back to edge-a.
source "$(dirname "$0")/hook_lib.sh"
trap 'stop_agents; cleanup_containers; in_ns edge-a etcdctl --endpoints "$ETCD" del --prefix /dockmig/services/gw- >/dev/null 2>&1;
      rm -f "$report" "$errors"' EXIT
ttl=15
start_fleet_agents --etcd "$ETCD" --prepare-ttl "$ttl"
owner() {
  in_ns edge-a etcdctl --endpoints "$ETCD" get "/dockmig/services/$1" --print-value-only |
    python3 -c 'import json,sys; t=sys.stdin.read().strip(); print(json.loads(t)["host"] if t else "")'
}
listed_hosts() { gw ls --json && python3 -c "import json; print(' '.join(sorted(h['name'] for h in json.load(open('$report'))['hosts'])))"; }
lists_three() { [ "$(listed_hosts)" = "edge-a edge-b edge-c" ]; }
wait_until 15 lists_three || fail "fleet ls lists [$(listed_hosts)], expected edge-a edge-b edge-c"

service='head -c 2000000 /dev/urandom > /blob; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name gw-svc --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a gw-svc 20 || fail "gw-svc did not start"
lists_gw_svc() { gw where gw-svc && [ "$(cat "$report")" = "edge-a $EDGE_A_ADDR:$hook_link_port" ]; }
wait_until 10 lists_gw_svc || fail "fleet where gw-svc says '$(cat "$report")' ($(cat "$errors"))"
grep -q "no ownership record yet" "$errors" || fail "fleet where does not say gw-svc has no record yet"

step "refusals, before anything moves"
gw_handoff gw-nothing --to edge-b
[ "$gw_status" = 2 ] || fail "an unknown service: exit $gw_status, expected 2"
grep -q "the fleet has no service \`gw-nothing\`" "$errors" || fail "unknown service: $(cat "$errors")"
gw_handoff gw-svc --to edge-z
[ "$gw_status" = 2 ] || fail "an unknown host: exit $gw_status, expected 2"
grep -q "no host \`edge-z\` in the fleet" "$errors" || fail "unknown host: $(cat "$errors")"
gw_handoff gw-svc --to edge-a
[ "$gw_status" = 2 ] || fail "the host that runs it: exit $gw_status, expected 2"
grep -q "already runs on \`edge-a\`" "$errors" || fail "the owner as destination: $(cat "$errors")"
running edge-a gw-svc || fail "gw-svc stopped on edge-a"
[ -z "$(owner gw-svc)" ] || fail "a refusal wrote a record naming '$(owner gw-svc)'"

step "POST /v1/prepare warms edge-b and edge-c at once"
dest_b="$EDGE_B_ADDR:$hook_link_port" dest_c="$EDGE_B_ADDR:$c_link_port"
post_json edge-a /v1/prepare "{\"container\":\"gw-svc\",\"destinations\":[\"$dest_b\",\"$dest_c\"]}" --max-time 300
expect_status 200 "POST /v1/prepare with two destinations"
for i in 0 1; do
  [ "$(body "['preparations'][$i].get('error')")" = None ] || fail "preparation $i failed: $(body "['preparations'][$i]")"
  [ "$(body "['preparations'][$i]['raw_bytes']")" -gt 1000000 ] || fail "preparation $i sent $(body "['preparations'][$i]['raw_bytes']") bytes"
done
warm_c=$hook_dir/state-edge-c/staging/warm
[ -n "$(ls -A "$warm_c" 2>/dev/null)" ] || fail "edge-c holds no staged preparation"
[ -n "$(ls -A "$hook_dir/state-edge-b/staging/warm" 2>/dev/null)" ] || fail "edge-b holds no staged preparation"
ls "$hook_dir/state-edge-a/warm/"*"@${EDGE_B_ADDR}_${c_link_port}.prep" >/dev/null || fail "edge-a keeps no preparation for edge-c"

step "fleet handoff gw-svc --to edge-b"
before=$(count_of edge-a gw-svc)
gw_handoff gw-svc --to edge-b
[ "$gw_status" = 0 ] || fail "fleet handoff exited $gw_status: $(cat "$errors")"
sed 's/^/    /' "$errors"
grep -q "edge-a ($EDGE_A_ADDR:$hook_link_port) -> edge-b ($EDGE_B_ADDR:$hook_link_port)" "$errors" \
  || fail "fleet handoff does not name the source it found"
bytes=$(field "['bytes_total']") saved=$(field "['prepared_bytes_saved']")
[ "$saved" -gt 1000000 ] || fail "the report says the preparation saved $saved bytes"
[ "$bytes" -lt 2000000 ] || fail "the prepared handoff sent $bytes bytes, not less than the 2 MB layer"
running edge-b gw-svc || fail "gw-svc does not run on edge-b"
! exists edge-a gw-svc || fail "gw-svc is still on edge-a"
count=$(count_of edge-b gw-svc)
[ "$count" -ge "$before" ] || fail "the count restarted ($count < $before)"
[ "$(owner gw-svc)" = edge-b ] || fail "the record names '$(owner gw-svc)', expected edge-b"
gw where gw-svc
[ "$(cat "$report")" = "edge-b $EDGE_B_ADDR:$hook_link_port" ] || fail "fleet where says '$(cat "$report")'"
step "moved: $bytes bytes on the link, $saved saved by the preparation; count $before -> $count; the record names edge-b"

step "the unused preparation (edge-c) goes after its TTL of $ttl s"
wait_until $((ttl + 10)) bash -c "! [ -n \"\$(ls -A '$warm_c' 2>/dev/null)\" ]" || fail "edge-c still holds $(ls "$warm_c")"
wait_until 10 bash -c "! ls '$hook_dir/state-edge-a/warm/'*'@${EDGE_B_ADDR}_${c_link_port}.prep'" \
  || fail "edge-a still keeps its preparation for edge-c"

step "the API's view of the fleet"
api edge-b GET /v1/fleet/hosts
expect_status 200 "GET /v1/fleet/hosts at edge-b"
host_count=$(python3 -c "import json; print(len(json.load(open('$body_file'))['hosts']))")
[ "$host_count" = 3 ] || fail "GET /v1/fleet/hosts lists $host_count hosts"
api edge-a GET /v1/fleet/services/gw-svc
expect_status 200 "GET /v1/fleet/services/gw-svc at edge-a"
[ "$(body "['host']")" = edge-b ] && [ "$(body "['alive']")" = True ] || fail "the service: $(cat "$body_file")"
api edge-a GET /v1/fleet/services/gw-nothing
expect_status 404 "GET /v1/fleet/services/gw-nothing"
post_json edge-a /v1/fleet/handoff '{"service":"gw-svc","to":"edge-a"}'
expect_status 307 "POST /v1/fleet/handoff at edge-a, which is not the source"
[ "$(body "['source']")" = edge-b ] || fail "the 307 names $(body "['source']") as the source"
grep -qi "^location: https://$EDGE_B_ADDR:$hook_api_port/v1/fleet/handoff" <(in_ns edge-a curl -sS -D - -o /dev/null \
  --cacert "$certs/ca.pem" -H "Authorization: Bearer $gateway_token" -H 'Content-Type: application/json' \
  -d '{"service":"gw-svc","to":"edge-a"}' "https://$EDGE_A_ADDR:$hook_api_port/v1/fleet/handoff" | tr -d '\r') \
  || fail "the 307 has no Location of edge-b's API"
post_json edge-b /v1/fleet/handoff '{"service":"gw-svc","to":"edge-zz"}'
expect_status 404 "POST /v1/fleet/handoff to an unknown host"
before=$(count_of edge-b gw-svc)
post_json edge-b /v1/fleet/handoff '{"service":"gw-svc","to":"edge-a"}'
expect_status 202 "POST /v1/fleet/handoff at the source"
wait_handoff edge-b "$(body "['id']")" 300
[ "$state" = succeeded ] || fail "the handoff back ended $state: $(body "['reason']")"
running edge-a gw-svc || fail "gw-svc does not run on edge-a again"
count=$(count_of edge-a gw-svc)
[ "$count" -ge "$before" ] || fail "the count restarted ($count < $before)"
[ "$(owner gw-svc)" = edge-a ] || fail "the record names '$(owner gw-svc)', expected edge-a"
pass "fleet handoff by name, 307 to the source, two hosts warmed and the unused one dropped after its TTL"
