# The load a fleet puts on etcd (docs/fleet.md, "Scale"), counted by etcd itself (its
# /metrics: gRPC calls started by method, the store's revision, keys and size) on the
# bed: three agents in the fleet with the HTTPS API (edge-c a second agent in edge-b's
# namespace), a counting service on edge-a, and `fleet handoff` as the gateway:
#  - idle: the agents only renew their leases (one keep-alive per host per third of the
#    TTL) and write (almost) nothing: the store's revision moves by at most three;
#  - a first handoff (it creates the service's record) and a second one back (the record
#    exists): the calls of each by method, the writes (revisions), and the events one
#    watcher of /dockmig/ receives;
#  - a `fleet where` and a `fleet ls`: the calls of each.
# The figures are printed and written to $BED_STATE/fleet-load.json. With
# FLEET_LOAD_ETCD_MEMBERS=3 (fleet_load_3.sh) the same on three etcd members, every --etcd
# naming all three, the calls counted at each and summed; into fleet-load-3.json.
source "$(dirname "$0")/hook_lib.sh"
# start_watcher FILE: an `etcdctl watch` of /dockmig/ into FILE, in a session of its own
# (setsid), so that stop_watcher ends it by its process group: testbed's exec and nsenter
# stand between this shell and etcdctl, and a kill of the one pid missed etcdctl.
start_watcher() {
  setsid "$TESTBED" exec edge-a etcdctl --endpoints "$ETCD" watch --prefix /dockmig/ >"$1" 2>/dev/null &
  watcher=$!
}
stop_watcher() {
  [ -n "${watcher:-}" ] || return 0
  kill -- "-$watcher" 2>/dev/null
  wait "$watcher" 2>/dev/null || true
  watcher=
}
members=${FLEET_LOAD_ETCD_MEMBERS:-1}
trap 'stop_agents; cleanup_containers; stop_watcher;
      in_ns edge-a etcdctl --endpoints "$ETCD" del --prefix /dockmig/services/load- >/dev/null 2>&1;
      [ "$members" = 1 ] || "$TESTBED" etcd members 1 >/dev/null 2>&1 || true
      rm -f "$report" "$errors"' EXIT
if [ "$members" != 1 ]; then
  "$TESTBED" etcd members "$members" || fail "the bed could not start $members etcd members"
  eval "$("$TESTBED" env)"
  [ "$ETCD_MEMBERS" = "$members" ] || fail "env says $ETCD_MEMBERS etcd members"
fi
figures=$BED_STATE/fleet-load$([ "$members" = 1 ] || echo "-$members").json
# After the switch to $members members: $ETCD names them all.
watch_pattern="etcdctl --endpoints $ETCD watch --prefix /dockmig/"
no_watcher() { ! pgrep -f "$watch_pattern" >/dev/null; }
ttl=10
start_fleet_agents --etcd "$ETCD" --fleet-ttl "$ttl"
hosts_listed() { gw ls --json && [ "$(python3 -c "import json; print(len(json.load(open('$report'))['hosts']))")" = 3 ]; }
wait_until 15 hosts_listed || fail "fleet ls does not list three hosts"

# etcd's counters now, as JSON: {"Range": n, …, "revision": r, "keys": k, "db": bytes,
# "t": when they were read}; with several members the calls summed over them (each call
# is served by one), the store's figures the largest (every member holds the same store).
# The members are read in one exec, right after "t": a rate over the time between two
# snapshots is then over the time between the reads of each member. (Read one exec a
# member, the first member's counters covered the other members' execs too, and the
# keep-alive rate over a nominal 15 s came out too high on three members.)
snapshot() {
  local t
  t=$(date +%s.%N)
  in_ns edge-a bash -c 'for url in ${1//,/ }; do echo "# member $url"; curl -sf "$url/metrics" || exit 1; done' _ "$ETCD" |
    T=$t python3 -c '
import json, os, re, sys
m = {"t": float(os.environ["T"])}
member = ""
for line in sys.stdin:
    if line.startswith("# member "): member = line.split()[-1]
    if line.startswith("grpc_server_started_total{"):
        method = re.search(r"grpc_method=\"([^\"]+)\"", line).group(1)
        m[method] = m.get(method, 0) + float(line.split()[-1])
        if method == "LeaseKeepAlive": m["LeaseKeepAlive@" + member] = float(line.split()[-1])
    if line.startswith("etcd_debugging_lease_renewed_total "):
        m["lease_renewed"] = m.get("lease_renewed", 0) + float(line.split()[-1])
    for name, key in (("etcd_debugging_mvcc_current_revision", "revision"), ("etcd_debugging_mvcc_keys_total", "keys"),
                      ("etcd_mvcc_db_total_size_in_bytes", "db")):
        if line.startswith(name + " "): m[key] = max(m.get(key, 0), float(line.split()[-1]))
print(json.dumps(m))'
}
# between BEFORE AFTER: what changed, keep-alives (the background) left out and given as
# rates over the time between the two snapshots: the LeaseKeepAlive calls the members
# served, and the renewals the leader made (etcd_debugging_lease_renewed_total, which a
# follower's forwarded renewal counts once, at the leader).
between() {
  python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
s = b["t"] - a["t"]
d = {k: b[k] - a.get(k, 0) for k in b if b[k] != a.get(k, 0) and k not in ("keys", "db", "t")}
d["seconds"] = round(s, 2)
d["keep_alives_per_second"] = round(d.pop("LeaseKeepAlive", 0) / s, 3)
d["renewals_per_second"] = round(d.pop("lease_renewed", 0) / s, 3)
for k in [k for k in d if k.startswith("LeaseKeepAlive@")]: d[k] = round(d[k] / s, 3)
print(json.dumps(d))' "$1" "$2"
}
settle=$((ttl / 3 + 2))   # a host record changed is rewritten at the next renewal

service='i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name load-svc --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a load-svc 10 || fail "load-svc did not start"
sleep "$settle"

step "idle: three hosts renew their leases for 15 s"
before=$(snapshot); sleep 15; after=$(snapshot)
idle=$(between "$before" "$after")
echo "    $idle"
# Nothing changes on an idle host but its free disk, counted in 256 MiB: at most one
# rewrite of a host's record, when another test's data crosses a step.
python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d.get('revision',0)<=3 else 1)" "$idle" \
  || fail "an idle fleet wrote to etcd: $idle"
python3 -c "import json,sys; r=json.loads(sys.argv[1])['keep_alives_per_second']; sys.exit(0 if 0.6<=r<=1.2 else 1)" "$idle" \
  || fail "three hosts with a TTL of $ttl s renewed at an unexpected rate: $idle"

# measure WHAT COMMAND...: the calls COMMAND makes, plus the host records it makes change
# (rewritten within $settle s), and the events a watcher of /dockmig/ receives meanwhile;
# in $measured, as JSON.
measure() {
  local what=$1; shift
  local events=$hook_dir/watch-$what.txt
  start_watcher "$events"
  sleep 1
  local before after
  before=$(snapshot)
  "$@"
  sleep "$settle"
  after=$(snapshot)
  stop_watcher
  wait_until 5 no_watcher || fail "the $what watcher outlived its measure: $(pgrep -af "$watch_pattern")"
  local change
  change=$(between "$before" "$after")
  measured=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1]); lines = [l.strip() for l in open(sys.argv[2])]
keys = [lines[i + 1] for i in range(len(lines) - 1) if lines[i] in ("PUT", "DELETE")]
d["watch_events"] = len(keys)
d["service_record_writes"] = sum(1 for k in keys if k.startswith("/dockmig/services/"))
d["host_record_writes"] = sum(1 for k in keys if k.startswith("/dockmig/hosts/"))
d["hosts_written"] = sorted({k.rsplit("/", 1)[1] for k in keys if k.startswith("/dockmig/hosts/")})
print(json.dumps(d))' "$change" "$events")
}

# handoff_to WHAT HOST: hands load-svc to HOST, measured; it must run there after.
handoff_to() {
  measure "$1" gw_handoff load-svc --to "$2"
  [ "$gw_status" = 0 ] || fail "the $1 handoff exited $gw_status: $(cat "$errors")"
  echo "    $measured"
  running "$2" load-svc || fail "load-svc does not run on $2"
}
step "a first handoff: load-svc edge-a -> edge-b (creates the record)"
handoff_to first edge-b
first=$measured
step "a second handoff: load-svc edge-b -> edge-a (the record exists)"
handoff_to second edge-a
second=$measured
# A handoff writes the service's record once (the swap; a first one creates it before),
# and the records of the hosts whose containers or images changed (edge-c's too: it runs
# on edge-b's dockerd); the watcher sees each write.
check_writes() {
  python3 -c '
import json, sys
d, swaps = json.loads(sys.argv[1]), int(sys.argv[2])
ok = (d["service_record_writes"] == swaps and d["watch_events"] == d.get("revision", 0)
      and d["service_record_writes"] + d["host_record_writes"] == d["watch_events"]
      and set(d["hosts_written"]) <= {"edge-a", "edge-b", "edge-c"} and d.get("Txn", 0) == swaps)
sys.exit(0 if ok else 1)' "$1" "$2" || fail "a handoff's writes are not what the commit rule makes: $1"
}
check_writes "$first" 2
check_writes "$second" 1

measure where gw where load-svc
where=$measured
echo "    fleet where: $where"
measure ls gw ls
ls_calls=$measured
echo "    fleet ls: $ls_calls"
keys=$(in_ns edge-a etcdctl --endpoints "$ETCD" get --prefix /dockmig/ --keys-only | grep -c .)
host_bytes=$(in_ns edge-a etcdctl --endpoints "$ETCD" get /dockmig/hosts/edge-a --print-value-only | wc -c)
service_bytes=$(in_ns edge-a etcdctl --endpoints "$ETCD" get /dockmig/services/load-svc --print-value-only | wc -c)
echo "{\"hosts\": 3, \"etcd_members\": $members, \"lease_ttl_seconds\": $ttl, \"idle\": $idle, \"first_handoff\": $first, \"second_handoff\": $second,
  \"fleet_where\": $where, \"fleet_ls\": $ls_calls, \"keys_under_dockmig\": $keys,
  \"host_record_bytes\": $host_bytes, \"service_record_bytes\": $service_bytes}" | python3 -m json.tool | tee "$figures"
pass "etcd's load counted on $members member(s): idle, two handoffs, where, ls"
