# The fleet on a three-member etcd (docs/fleet.md, "A cluster of etcd members"), with
# three agents serving the HTTPS API (edge-c a second agent in edge-b's namespace) and
# every --etcd naming all three members:
#  - two gateways ask, at the same moment, to hand the same service to different hosts
#    (edge-b and edge-c): exactly one handoff is accepted; the other gateway is refused,
#    and the refusal names the winner's host;
#  - while that handoff waits at the destination right before its swap (the commit), the
#    etcd leader (the member whose /v3/maintenance/status names itself) is killed with
#    SIGKILL; released, the swap goes to the members left during their election, and the
#    handoff commits exactly once: the record names the destination and was written
#    twice (the claim, the swap), one copy runs, and its counter carried on;
#  - with the leader still dead, `fleet where` answers, and a second handoff (back to
#    edge-a) commits on the two members left.
source "$(dirname "$0")/hook_lib.sh"
need_fault_points
trap 'stop_agents; cleanup_containers; "$TESTBED" etcd members 1 >/dev/null 2>&1 || true; rm -f "$report" "$errors"' EXIT
"$TESTBED" etcd members 3 || fail "the bed could not start three etcd members"
eval "$("$TESTBED" env)"
[ "$ETCD_MEMBERS" = 3 ] && [ "$(tr ',' '\n' <<<"$ETCD" | wc -l)" = 3 ] || fail "env says ETCD=$ETCD ($ETCD_MEMBERS members)"
step "etcd: three members at $ETCD"

# Each destination pauses right before its swap, so the test acts while the handoff is
# in progress and the source is frozen.
hook_agent_env=(DOCKMIG_FAULTS=destination.before-swap=pause "DOCKMIG_FAULT_DIR=$DOCKMIG_FAULT_DIR")
start_fleet_agents --etcd "$ETCD"
etcdctl_() { in_ns edge-a etcdctl --endpoints "$ETCD" "$@"; }
# record_field SERVICE FIELD: a field of the service's record as etcd holds it (host,
# or etcd's `version`: how many times the key was written).
record_field() {
  etcdctl_ get "/dockmig/services/$1" -w json | python3 -c '
import base64, json, sys
kvs = json.load(sys.stdin).get("kvs") or [{}]
kv = kvs[0]
if sys.argv[1] == "version": print(kv.get("version", 0))
else: print(json.loads(base64.b64decode(kv["value"]))[sys.argv[1]] if kv else "")' "$2"
}
lists_three() { gw ls --json && [ "$(python3 -c "import json; print(len(json.load(open('$report'))['hosts']))")" = 3 ]; }
wait_until 15 lists_three || fail "fleet ls does not list three hosts: $(cat "$report" "$errors")"

service='i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name cl-svc --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a cl-svc 20 || fail "cl-svc did not start"
# The gateways find the service through edge-a's host record, which lists it only once the
# agent has published its containers again.
lists_cl_svc() { gw where cl-svc && [ "$(cat "$report")" = "edge-a $EDGE_A_ADDR:$hook_link_port" ]; }
wait_until 15 lists_cl_svc || fail "fleet where cl-svc says '$(cat "$report")' ($(cat "$errors"))"
copies() {  # the running copies of cl-svc on the bed's dockerds (edge-c's agent uses edge-b's)
  local n=0 host
  for host in edge-a edge-b; do ! running "$host" cl-svc || n=$((n + 1)); done
  echo "$n"
}

step "two gateways hand cl-svc to edge-b and to edge-c at the same moment"
# gateway N HOST: a `fleet handoff` of its own, as another gateway would run it.
gateway() {
  local status=0
  in_ns edge-a "$DOCKMIG" fleet handoff cl-svc --to "$2" --etcd "$ETCD" --token-file "$hook_dir/gateway.token" \
    --tls-ca "$certs/ca.pem" --json >"$hook_dir/gateway-$1.out" 2>"$hook_dir/gateway-$1.err" || status=$?
  echo "$status" >"$hook_dir/gateway-$1.status"
}
rm -f "$hook_dir"/gateway-*
before=$(count_of edge-a cl-svc)
gateway 1 edge-b &
gateway_1=$!
gateway 2 edge-c &
gateway_2=$!
fault_wait destination.before-swap || fail "no destination reached its swap: $(cat "$hook_dir"/gateway-*.err)"
# The loser is refused at once, the winner waits at its destination.
wait_until 30 bash -c "ls '$hook_dir'/gateway-*.status >/dev/null 2>&1" || fail "neither gateway was refused"
loser=$(basename "$(ls "$hook_dir"/gateway-*.status)" .status); loser=${loser#gateway-}
winner=$((3 - loser)) winner_host=edge-b loser_host=edge-c
[ "$winner" = 1 ] || { winner_host=edge-c; loser_host=edge-b; }
sed 's/^/    loser: /' "$hook_dir/gateway-$loser.err"
[ "$(cat "$hook_dir/gateway-$loser.status")" != 0 ] || fail "both gateways' handoffs were accepted"
grep -q "already has a handoff: .*to \`$winner_host\`" "$hook_dir/gateway-$loser.err" \
  || fail "the refusal of the handoff to $loser_host does not name the winner $winner_host: $(cat "$hook_dir/gateway-$loser.err")"
step "the handoff to $winner_host won; the one to $loser_host was refused, naming $winner_host"

step "kill -9 the etcd leader while the handoff waits right before its swap"
leader=$("$TESTBED" etcd leader) || fail "no etcd member says it leads"
"$TESTBED" etcd kill "$leader"
step "killed $leader; releasing the destination"
fault_release destination.before-swap
wait "$gateway_1" "$gateway_2" || true
sed 's/^/    winner: /' "$hook_dir/gateway-$winner.err"
[ "$(cat "$hook_dir/gateway-$winner.status")" = 0 ] || fail "the handoff to $winner_host failed (exit $(cat "$hook_dir/gateway-$winner.status"))"
[ "$(record_field cl-svc host)" = "$winner_host" ] || fail "the record names '$(record_field cl-svc host)', expected $winner_host"
# Written by the source's claim (created) and by the destination's swap, once each: a
# swap sent twice would have written it again, or lost to its own first copy and rolled back.
[ "$(record_field cl-svc version)" = 2 ] || fail "the record was written $(record_field cl-svc version) times, expected 2 (claim, swap)"
[ "$(copies)" = 1 ] || fail "$(copies) copies of cl-svc run"
running edge-b cl-svc && ! exists edge-a cl-svc || fail "cl-svc does not run (only) at the destination"
count=$(count_of edge-b cl-svc)
[ "$count" -ge "$before" ] || fail "the count restarted ($count < $before)"
step "committed once with $leader dead: the record names $winner_host (version 2), one copy, count $before -> $count"

step "with $leader still dead, the fleet serves \`fleet where\` and another handoff"
gw where cl-svc
[ "$gw_status" = 0 ] && [ "$(cut -d' ' -f1 "$report")" = "$winner_host" ] \
  || fail "fleet where (exit $gw_status) says '$(cat "$report")': $(cat "$errors")"
gateway 3 edge-a &
fault_release destination.before-swap
wait $! || true
[ "$(cat "$hook_dir/gateway-3.status")" = 0 ] || fail "the handoff back to edge-a failed: $(cat "$hook_dir/gateway-3.err")"
[ "$(record_field cl-svc host)" = edge-a ] || fail "the record names '$(record_field cl-svc host)', expected edge-a"
[ "$(record_field cl-svc version)" = 3 ] || fail "the record was written $(record_field cl-svc version) times, expected 3"
[ "$(copies)" = 1 ] && running edge-a cl-svc || fail "after the handoff back: $(copies) copies, edge-a running: $(running edge-a cl-svc && echo yes || echo no)"
count_continued_from=$count count=$(count_of edge-a cl-svc)
[ "$count" -ge "$count_continued_from" ] || fail "the count restarted on edge-a ($count < $count_continued_from)"
# What the agents met at etcd (which path the failover took depends on the election's timing).
grep -h "etcd" "$hook_dir"/agent-*.log | grep -v "api: " | tail -n 8 | sed 's/^/    agent: /' || true
pass "one of two racing handoffs won, named in the other's refusal; it committed once across the leader's death; the fleet went on with two members"
