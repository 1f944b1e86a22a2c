# GET /v1/fleet/watch, the agent's stream of where services run (docs/api.md, "Following
# the fleet"), on the bed's etcd with three agents (start_fleet_agents); the watchers are
# curl in edge-b's namespace at edge-c's API, an agent that takes no part in the handoff:
#  - no token: 401; a bad service name: 400;
#  - a watcher of hw-svc started before any handoff gets nothing for it at first (no
#    record yet), then, on `fleet handoff hw-svc --to edge-b`, the claim (nobody ->
#    edge-a) and the move edge-a -> edge-b, each exactly once, then a heartbeat line;
#  - closing curl ends the watch: the agent logs it gone within a few seconds, etcd counts
#    no watcher any more, and the agent has the threads it had before the watch;
#  - eight watches (the places event streams and watches share) are served; a ninth is
#    answered 503 with Retry-After, and closing the eight frees every place;
#  - edge-c's /metrics counts the watches open (1, then 8) and the first one ended as
#    client_gone;
#  - with the first watcher gone, hw-svc is handed back to edge-a; a watcher that
#    reconnects with after_revision (the revision of the last line it got) gets that move
#    and nothing else; after etcd compacts its history, the same is 410 Gone (and `fleet
#    watch --after-revision` exits 1 saying to watch without it); a revision etcd has not
#    reached, or not a number, is 400.
source "$(dirname "$0")/hook_lib.sh"
watchers=()
stop_watchers() { local pid; for pid in "${watchers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; watchers=(); }
trap 'stop_watchers; stop_agents; cleanup_containers; in_ns edge-a etcdctl --endpoints "$ETCD" del /dockmig/services/hw-svc >/dev/null 2>&1;
      rm -f "$report" "$errors"' EXIT
start_fleet_agents --etcd "$ETCD"
edge_c_pid=${agent_pids[2]} edge_c_log=$hook_dir/agent-edge-c.log
edge_c_api=https://$EDGE_B_ADDR:$c_api_port
lists_three() { gw ls --json && [ "$(python3 -c "import json; print(len(json.load(open('$report'))['hosts']))")" = 3 ]; }
wait_until 15 lists_three || fail "fleet ls does not list three hosts: $(cat "$report" "$errors")"
dk edge-a run -d --name hw-svc --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 20 count_at_least edge-a hw-svc 10 || fail "hw-svc did not start"
# The fleet learns of a container at its host's next renewal of its record.
lists_hw_svc() { gw where hw-svc && [ "$(cut -d' ' -f1 "$report")" = edge-a ]; }
wait_until 15 lists_hw_svc || fail "fleet where hw-svc says '$(cat "$report")' ($(cat "$errors"))"

# watch_at_c OUT [QUERY]: a curl watcher at edge-c's API in the background, its output in
# OUT; nsenter execs curl, so the pid added to $watchers is curl's.
watch_at_c() {
  nsenter --net="/run/netns/$EDGE_B_NETNS" -- curl -sSN --cacert "$certs/ca.pem" \
    -H "Authorization: Bearer $gateway_token" "$edge_c_api/v1/fleet/watch${2:-}" >"$1" 2>>"$hook_dir/curl.err" &
  watchers+=($!)
}
# Asked of edge-c with curl, the status in $status, the body in $body_file.
ask_c() { status=$(in_ns edge-b curl -sS -o "$body_file" -w '%{http_code}' --max-time 10 --cacert "$certs/ca.pem" "$@") || true; }
logged() { [ "$(grep -c "fleet watch of $1: $2" "$edge_c_log")" -ge "$3" ]; }
etcd_watchers() { in_ns edge-a curl -sf --max-time 2 "$ETCD/metrics" | sed -n 's/^etcd_debugging_mvcc_watcher_total //p'; }
threads() { ls "/proc/$edge_c_pid/task" | wc -l; }
# metric SERIES: its value in edge-c's GET /metrics.
metric() {
  in_ns edge-b curl -sS --max-time 5 --cacert "$certs/ca.pem" -H "Authorization: Bearer $gateway_token" \
    "$edge_c_api/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }

step "refusals"
ask_c "$edge_c_api/v1/fleet/watch"
[ "$status" = 401 ] || fail "a watch without a token: HTTP $status"
ask_c -H "Authorization: Bearer $gateway_token" "$edge_c_api/v1/fleet/watch?service=hw-svc&service=no%20such"
[ "$status" = 400 ] && grep -q 'service=no such' "$body_file" || fail "a bad service name: HTTP $status $(cat "$body_file")"

threads_before=$(threads)
[ "$(etcd_watchers)" = 0 ] || fail "etcd counts $(etcd_watchers) watchers before any watch"
step "a watcher of hw-svc at edge-c, before any handoff ($threads_before threads in edge-c's agent)"
out=$hook_dir/watch.out
watch_at_c "$out" "?service=hw-svc"
wait_until 10 logged "hw-svc by gateway-1 from $EDGE_B_ADDR" started 1 || fail "edge-c did not start the watch: $(cat "$hook_dir/curl.err"; tail -n3 "$edge_c_log")"
[ "$(etcd_watchers)" = 1 ] || fail "etcd counts $(etcd_watchers) watchers during the watch, expected 1"
metric_is dockmig_fleet_watches_open 1 || fail "edge-c's dockmig_fleet_watches_open is $(metric dockmig_fleet_watches_open) during the watch"
[ ! -s "$out" ] || fail "the watch printed a state for hw-svc, which has no record yet: $(cat "$out")"

step "hand hw-svc to edge-b; the watcher gets the claim and the move once each"
gw_handoff hw-svc --to edge-b
[ "$gw_status" = 0 ] || fail "the handoff to edge-b exited $gw_status: $(cat "$errors")"
# moves FROM TO: how many lines say hw-svc moved FROM -> TO as it happened.
moves() {
  python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    c = json.loads(line)
    n += c.get("service") == "hw-svc" and (c["from"] or "") == sys.argv[2] and c["to"] == sys.argv[3] and not c["current"]
print(n)' "$out" "$1" "$2"
}
moved() { [ "$(moves edge-a edge-b)" -ge 1 ]; }
wait_until 10 moved || fail "the watcher did not get the move: $(cat "$out" "$hook_dir/curl.err")"
step "a heartbeat line after 15 s of silence"
heartbeat() { grep -qx '{"heartbeat":true}' "$out"; }
wait_until 25 heartbeat || fail "no heartbeat line: $(cat "$out")"
sed 's/^/    watch: /' "$out"
[ "$(moves "" edge-a)" = 1 ] || fail "the claim (nobody -> edge-a) came $(moves "" edge-a) times"
[ "$(moves edge-a edge-b)" = 1 ] || fail "the move edge-a -> edge-b came $(moves edge-a edge-b) times"
[ "$(grep -vcx '{"heartbeat":true}' "$out")" = 2 ] || fail "expected the claim and the move only: $(cat "$out")"

step "closing curl ends the watch"
stop_watchers
wait_until 5 logged "hw-svc by gateway-1 from $EDGE_B_ADDR" "ended, the client went away" 1 \
  || fail "edge-c did not notice its watcher gone: $(tail -n3 "$edge_c_log")"
grep "fleet watch of hw-svc" "$edge_c_log" | sed 's/^/    edge-c: /'
no_etcd_watcher() { [ "$(etcd_watchers)" = 0 ]; }
wait_until 5 no_etcd_watcher || fail "etcd still counts $(etcd_watchers) watchers after the client went"
same_threads() { [ "$(threads)" = "$threads_before" ]; }
wait_until 5 same_threads || fail "edge-c's agent has $(threads) threads, $threads_before before the watch"
metric_is dockmig_fleet_watches_open 0 && metric_is 'dockmig_fleet_watches_ended_total{outcome="client_gone"}' 1 \
  && metric_is 'dockmig_fleet_watches_ended_total{outcome="error"}' 0 \
  || fail "edge-c's watch metrics after the watch: $(metric dockmig_fleet_watches_open) open, $(metric 'dockmig_fleet_watches_ended_total{outcome="client_gone"}') client_gone"

step "eight watches are served, a ninth is refused, and closing them frees every place"
for i in 1 2 3 4 5 6 7 8; do watch_at_c "$hook_dir/all-$i.out"; done
wait_until 15 logged "every service by gateway-1 from $EDGE_B_ADDR" started 8 \
  || fail "edge-c started $(grep -c 'fleet watch of every service.*started' "$edge_c_log") of 8 watches: $(cat "$hook_dir/curl.err")"
ask_c -D "$hook_dir/headers" -H "Authorization: Bearer $gateway_token" "$edge_c_api/v1/fleet/watch"
[ "$status" = 503 ] && grep -qi '^Retry-After: 10' "$hook_dir/headers" || fail "a ninth watch: HTTP $status $(cat "$body_file")"
metric_is dockmig_fleet_watches_open 8 || fail "edge-c's dockmig_fleet_watches_open is $(metric dockmig_fleet_watches_open) with 8 watches"
step "a ninth watch: HTTP 503: $(body "['error']['message']")"
for i in 1 2 3 4 5 6 7 8; do
  grep -q '"service":"hw-svc","to":"edge-b"' "$hook_dir/all-$i.out" || fail "watch $i did not start with hw-svc on edge-b: $(cat "$hook_dir/all-$i.out")"
done
stop_watchers
wait_until 5 logged "every service by gateway-1 from $EDGE_B_ADDR" "ended, the client went away" 8 \
  || fail "edge-c ended $(grep -c 'fleet watch of every service.*ended' "$edge_c_log") of 8 watches"
wait_until 5 no_etcd_watcher || fail "etcd still counts $(etcd_watchers) watchers"
wait_until 5 same_threads || fail "edge-c's agent has $(threads) threads, $threads_before before the watches"
# Cut by --max-time after its first line: curl says so (exit 28), which is expected here.
single() { ask_c -H "Authorization: Bearer $gateway_token" --max-time 2 "$edge_c_api/v1/fleet/watch?service=hw-svc" 2>/dev/null; }
single
[ "$status" = 200 ] && grep -q '"service":"hw-svc","to":"edge-b"' "$body_file" || fail "a watch after the eight ended: HTTP $status $(cat "$body_file")"

step "a watcher that reconnects after the last revision it saw gets the handoff it missed, once"
last_revision=$(python3 -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1]) if "revision" in l][-1]["revision"])' "$hook_dir/watch.out")
gw_handoff hw-svc --to edge-a
[ "$gw_status" = 0 ] || fail "the handoff back to edge-a exited $gw_status: $(cat "$errors")"
out=$hook_dir/resume.out
watch_at_c "$out" "?service=hw-svc&after_revision=$last_revision"
wait_until 10 logged "hw-svc by gateway-1 from $EDGE_B_ADDR" "started after revision $last_revision" 1 \
  || fail "edge-c did not start the watch after revision $last_revision: $(cat "$hook_dir/curl.err"; tail -n3 "$edge_c_log")"
moved_back() { [ "$(moves edge-b edge-a)" -ge 1 ]; }
wait_until 10 moved_back || fail "the reconnected watcher did not get the move back: $(cat "$out" "$hook_dir/curl.err")"
sleep 2  # room for a repeat or a state line, which must not come
sed 's/^/    resumed watch: /' "$out"
[ "$(grep -vcx '{"heartbeat":true}' "$out")" = 1 ] && [ "$(moves edge-b edge-a)" = 1 ] \
  || fail "after revision $last_revision expected only the move edge-b -> edge-a: $(cat "$out")"
stop_watchers

step "a revision etcd has compacted away: 410 Gone from the API, a clear error from the CLI"
store_revision=$(in_ns edge-a etcdctl --endpoints "$ETCD" get /dockmig/services/hw-svc -w json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
in_ns edge-a etcdctl --endpoints "$ETCD" compact "$store_revision" >/dev/null || fail "etcdctl compact $store_revision failed"
ask_c -H "Authorization: Bearer $gateway_token" "$edge_c_api/v1/fleet/watch?service=hw-svc&after_revision=$last_revision"
[ "$status" = 410 ] && grep -q 'reconnect without after_revision' "$body_file" \
  || fail "a watch after compacted revision $last_revision: HTTP $status $(cat "$body_file")"
step "after revision $last_revision (etcd compacted at $store_revision): HTTP 410: $(body "['error']['message']")"
ask_c -H "Authorization: Bearer $gateway_token" "$edge_c_api/v1/fleet/watch?after_revision=$((store_revision + 1000))"
[ "$status" = 400 ] || fail "a watch after a revision etcd has not reached: HTTP $status $(cat "$body_file")"
ask_c -H "Authorization: Bearer $gateway_token" "$edge_c_api/v1/fleet/watch?after_revision=latest"
[ "$status" = 400 ] || fail "after_revision=latest: HTTP $status $(cat "$body_file")"
cli_status=0
in_ns edge-a timeout 20 "$DOCKMIG" fleet watch hw-svc --after-revision "$last_revision" --etcd "$ETCD" >"$report" 2>"$errors" \
  || cli_status=$?
[ "$cli_status" = 1 ] && grep -q 'compacted' "$errors" && grep -q 'without --after-revision' "$errors" \
  || fail "fleet watch --after-revision $last_revision after the compaction exited $cli_status: $(cat "$errors")"
sed 's/^/    cli: /' "$errors"
pass "a watcher at edge-c got the claim and the move once each and a heartbeat; closing it ended the etcd watch and its thread; 8 watches served, the 9th refused, all places freed; reconnecting after its last revision it got the move it missed once; a compacted revision is 410 (CLI: exit 1)"
