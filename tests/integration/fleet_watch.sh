# `dockmig fleet watch` on a three-member etcd (docs/fleet.md, "The gateway's view" and
# "Watching across members"), with three agents given all three members (edge-c a
# second agent in edge-b's namespace) and a watcher started before any handoff, given all
# three members too:
#  - the watcher prints the state as read, then the first handoff of fw-svc edge-a ->
#    edge-b exactly once (after the claim that created the record, nobody -> edge-a);
#  - the etcd member serving the watch (the one whose /metrics counts a watcher) is
#    killed with SIGKILL; a handoff back to edge-a is made with it dead; the watcher,
#    resumed at another member from the revision after the last one it printed, prints
#    edge-b -> edge-a exactly once, and no line twice;
#  - SIGTERM ends the watcher with exit 0;
#  - a new watcher's member loses its leader (the other live member killed): the stream
#    ends rather than staying silent, no member can serve it, and the watcher exits
#    with an error naming it.
source "$(dirname "$0")/hook_lib.sh"
watch_out=$hook_dir/watch.out watch_err=$hook_dir/watch.err
stop_watcher() { [ -z "${watcher:-}" ] || { kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null; watcher=; }; }
trap 'stop_watcher; stop_agents; cleanup_containers; "$TESTBED" etcd members 1 >/dev/null 2>&1 || true; rm -f "$report" "$errors"' EXIT
"$TESTBED" etcd members 3 || fail "the bed could not start three etcd members"
eval "$("$TESTBED" env)"
[ "$ETCD_MEMBERS" = 3 ] || fail "env says $ETCD_MEMBERS etcd members"
IFS=, read -ra member_urls <<<"$ETCD"
member_names=(cloud cloud-2 cloud-3)  # the bed's members, in the order of $ETCD
start_fleet_agents --etcd "$ETCD"
lists_three() { gw ls --json && [ "$(python3 -c "import json; print(len(json.load(open('$report'))['hosts']))")" = 3 ]; }
wait_until 15 lists_three || fail "fleet ls does not list three hosts: $(cat "$report" "$errors")"
dk edge-a run -d --name fw-svc --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 20 count_at_least edge-a fw-svc 10 || fail "fw-svc did not start"
lists_fw_svc() { gw where fw-svc && [ "$(cut -d' ' -f1 "$report")" = edge-a ]; }
wait_until 15 lists_fw_svc || fail "fleet where fw-svc says '$(cat "$report")' ($(cat "$errors"))"

step "a watcher of fw-svc starts before any handoff"
# nsenter execs dockmig, so $! is the watcher itself (a signal reaches it).
nsenter --net="/run/netns/$EDGE_A_NETNS" -- "$DOCKMIG" fleet watch fw-svc --etcd "$ETCD" --json \
  >"$watch_out" 2>"$watch_err" &
watcher=$!
# serving_member: the index of the member counting a watcher (no other client watches).
serving_member() {
  local i metrics
  for i in "${!member_urls[@]}"; do
    # Read whole first: grep -q leaving a pipe early would fail it under pipefail.
    metrics=$(in_ns edge-a curl -sf --max-time 2 "${member_urls[i]}/metrics") || continue
    grep -q '^etcd_debugging_mvcc_watcher_total [1-9]' <<<"$metrics" && { echo "$i"; return 0; }
  done
  return 1
}
wait_until 10 serving_member >/dev/null || fail "no etcd member serves the watch: $(cat "$watch_err")"
# lines FROM TO: how many lines the watcher printed for a move of fw-svc FROM -> TO.
lines() {
  python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    c = json.loads(line)
    n += c["service"] == "fw-svc" and (c["from"] or "") == sys.argv[2] and c["to"] == sys.argv[3] and not c["current"]
print(n)' "$watch_out" "$1" "$2"
}
[ ! -s "$watch_out" ] || fail "the watcher printed a state for fw-svc, which has no record yet: $(cat "$watch_out")"

step "hand fw-svc to edge-b; the watcher prints the move once"
gw_handoff fw-svc --to edge-b
[ "$gw_status" = 0 ] || fail "the handoff to edge-b exited $gw_status: $(cat "$errors")"
printed() { [ "$(wc -l <"$watch_out")" -ge "$1" ]; }
wait_until 10 printed 2 || fail "the watcher printed $(wc -l <"$watch_out") lines, expected the claim and the move: $(cat "$watch_out" "$watch_err")"
sed 's/^/    watch: /' "$watch_out"
[ "$(lines "" edge-a)" = 1 ] || fail "the claim (nobody -> edge-a) printed $(lines "" edge-a) times"
[ "$(lines edge-a edge-b)" = 1 ] || fail "the move edge-a -> edge-b printed $(lines edge-a edge-b) times"

serving=$(serving_member) || fail "no etcd member serves the watch"
step "kill -9 the member serving the watch, ${member_names[serving]} (${member_urls[serving]})"
"$TESTBED" etcd kill "${member_names[serving]}"
step "hand fw-svc back to edge-a with ${member_names[serving]} dead"
gw_handoff fw-svc --to edge-a
[ "$gw_status" = 0 ] || fail "the handoff back to edge-a exited $gw_status: $(cat "$errors")"
printed_back() { [ "$(lines edge-b edge-a)" -ge 1 ]; }
wait_until 15 printed_back || fail "the watcher did not print edge-b -> edge-a: $(cat "$watch_out" "$watch_err")"
sleep 2  # a repeat would come now
sed 's/^/    watch: /' "$watch_out"
grep 'resuming the watch' "$watch_err" | sed 's/^/    watcher: /'
grep -q "resuming the watch from revision" "$watch_err" || fail "the watcher did not say it resumed: $(cat "$watch_err")"
[ "$(lines edge-b edge-a)" = 1 ] || fail "the move edge-b -> edge-a printed $(lines edge-b edge-a) times"
[ "$(sort "$watch_out" | uniq -d | wc -l)" = 0 ] || fail "lines printed twice: $(sort "$watch_out" | uniq -d)"
[ "$(wc -l <"$watch_out")" = 3 ] || fail "expected 3 lines (claim, two moves): $(cat "$watch_out")"
serving_now=$(serving_member) || fail "no live etcd member serves the watch"
[ "$serving_now" != "$serving" ] || fail "the watch is still counted at the killed member"

step "SIGTERM ends the watcher with exit 0"
kill -TERM "$watcher"
status=0; wait "$watcher" || status=$?
watcher=
[ "$status" = 0 ] || fail "the watcher exited $status after SIGTERM: $(cat "$watch_err")"

step "a new watcher; the other live member is killed, so the one serving it has no leader"
nsenter --net="/run/netns/$EDGE_A_NETNS" -- "$DOCKMIG" fleet watch --etcd "$ETCD" >"$watch_out" 2>"$watch_err" &
watcher=$!
wait_until 10 serving_member >/dev/null || fail "no etcd member serves the new watch: $(cat "$watch_err")"
alone=$(serving_member)
for i in "${!member_names[@]}"; do [ "$i" = "$serving" ] || [ "$i" = "$alone" ] || other=$i; done
"$TESTBED" etcd kill "${member_names[other]}"
# With etcd's require-leader metadata the stream ends ("no leader") rather than staying
# silent; no member can serve it then, and the watcher exits with the error.
ended() { ! kill -0 "$watcher" 2>/dev/null; }
wait_until 30 ended || fail "the watch stayed on ${member_names[alone]}, a member without a leader: $(cat "$watch_err")"
status=0; wait "$watcher" || status=$?
watcher=
tail -n 2 "$watch_err" | sed 's/^/    watcher: /'
[ "$status" != 0 ] && grep -q "no leader" "$watch_err" || fail "the watcher exited $status without naming the lost leader: $(cat "$watch_err")"
pass "the watcher printed each move once, across the death of the member serving it (${member_names[serving]} -> ${member_names[serving_now]}), ended on SIGTERM, and left a member without a leader"
