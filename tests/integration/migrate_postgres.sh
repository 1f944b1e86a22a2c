# A real database moves with its data (docs/design.md, "Volumes and bind mounts"):
# Debian's PostgreSQL 15, in an image on the bed's minbase layer (tools/bench/images.sh
# postgres), its data directory on a named volume with a table of some MB, while a client
# in edge-a's namespace (tools/bench/client.py postgres) commits numbered rows through the
# handoff. Checked: every row whose commit was acknowledged is in the table at the
# destination, the client's sequence went on there, the loaded table is whole, the server
# takes new connections there, and the volume crossed mostly before the freeze (the
# report's `volume` blob at presync against its changes at finalsync).
source "$(dirname "$0")/lib.sh"
needs_network "a published port that its client commits through"
repo=$(cd "$(dirname "$0")/../.." && pwd)
client_py=$repo/tools/bench/client.py
work=$BED_STATE/$test_name
volume=mig-pg-data
load_mib=24
rm -rf "$work" && mkdir -p "$work"
client_pid=""
cleanup_volumes() {
  for host in edge-a edge-b; do dk "$host" volume rm -f "$volume" >/dev/null 2>&1 || true; done
}
trap '[ -z "$client_pid" ] || kill "$client_pid" 2>/dev/null; stop_agents; cleanup_containers; cleanup_volumes
  rm -rf "$work" "$report" "$errors"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
cleanup_volumes

# PostgreSQL runs as its own user: CRIU needs CAP_SYS_RESOURCE to dump it, or, on machines
# whose root lacks it, the bed's wrapper with its rlimit fallback (docs/testbed.md).
cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if (( (16#$cap_eff >> 24 & 1) == 0 )) && ! grep -q rlimit_fallback "$CRIU"; then
  fail "root lacks CAP_SYS_RESOURCE and $CRIU has no rlimit fallback, so CRIU cannot dump PostgreSQL; run tools/setup.sh again"
fi

pg() { in_ns edge-a python3 "$client_py" "$@" --port 5432; }
# sql HOST QUERY: the first value of the query's first row, on a new connection to HOST's
# published port.
sql() {
  local addr_var
  addr_var=$(echo "${1^^}_ADDR" | tr - _)
  pg postgres-sql --addrs "${!addr_var}" --sql "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][0])'
}

step "the PostgreSQL image (its layer is made once from Debian's packages and cached)"
"$TESTBED" rate 1gbit >/dev/null
image=$(bash "$repo/tools/bench/images.sh" image postgres "$EDGE_A_DOCKER" "$REGISTRY") \
  || fail "could not build the PostgreSQL image (tools/bench/images.sh image postgres)"
dk edge-b pull -q "$image" >/dev/null || fail "edge-b could not pull $image"
"$TESTBED" rate 20mbit >/dev/null
start_agent edge-b

dk edge-a volume create --label "$label" "$volume" >/dev/null
dk edge-a run -d --name mig-pg --label "$label" -v "$volume:/var/lib/postgresql/data" -p 5432:5432 "$image" >/dev/null
wait_until 60 pg postgres-sql --addrs "$EDGE_A_ADDR" --sql 'SELECT 1' \
  || fail "PostgreSQL did not answer on edge-a: $(dk edge-a logs --tail 5 mig-pg 2>&1)"
pg postgres-load --addrs "$EDGE_A_ADDR" --db-mib "$load_mib" >"$work/load.json" || fail "loading the table failed"
rows=$(python3 -c "import json; print(json.load(open('$work/load.json'))['rows'])" )
volume_bytes=$(du -sb "$(dk edge-a volume inspect -f '{{.Mountpoint}}' "$volume")" | cut -f1)
step "loaded $rows rows; the volume holds $volume_bytes bytes"

nsenter --net="/run/netns/$EDGE_A_NETNS" -- python3 "$client_py" postgres --addrs "$EDGE_A_ADDR,$EDGE_B_ADDR" --port 5432 >"$work/client.json" &
client_pid=$!
sleep 3
migrate edge-a edge-b mig-pg
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-pg || fail "mig-pg does not run on edge-b"
running edge-a mig-pg && fail "mig-pg still runs on edge-a"
sleep 4
kill -TERM "$client_pid"
wait "$client_pid" || fail "the client failed"
client_pid=""
seen() { python3 -c "import json; r=json.loads(open('$work/client.json').read().splitlines()[-1]); print($1)"; }
step "client: $(cat "$work/client.json")"
[ "$(seen "r['state_ok']")" = True ] || fail "the client saw the state lost: $(seen "r['state_error']")"
[ "$(seen "r.get('rows_lost')")" = 0 ] || fail "rows lost: $(seen "r.get('rows_lost'), r.get('final_check_error')")"
last_a=$(seen "r['acked_range_by'].get('$EDGE_A_ADDR', [0, 0])[1]")
first_b=$(seen "r['acked_range_by'].get('$EDGE_B_ADDR', [0, 0])[0]")
[ "$last_a" -gt 0 ] && [ "$first_b" -gt "$last_a" ] \
  || fail "the sequence did not go on at edge-b (last acknowledged on edge-a $last_a, first on edge-b $first_b)"
step "ok: $(seen "r['rows_acked']") commits acknowledged, none lost; edge-a's last $last_a, edge-b's first $first_b"

[ "$(sql edge-b 'SELECT count(*) FROM filler')" = "$rows" ] || fail "the loaded table is not whole on edge-b"
pg postgres --addrs "$EDGE_B_ADDR" --ready 10 || fail "a new client could not commit on edge-b"
step "ok: the loaded table is whole on edge-b, and a new connection commits there"

# The volume's blobs: whole at presync, its changes (and deltas) at finalsync.
volume_wire() {
  field "['phases'].get('$1', {}).get('compression', [])" | python3 -c "
import ast, sys
print(sum(s['wire_bytes'] for s in ast.literal_eval(sys.stdin.read()) if s['stream'].startswith('volume')))"
}
presync=$(volume_wire presync) finalsync=$(volume_wire finalsync)
step "the volume on the wire: $presync bytes at presync, $finalsync bytes at finalsync"
[ "$presync" -gt $((volume_bytes / 8)) ] || fail "the volume's presync ($presync bytes) is too small for $volume_bytes bytes of data"
[ $((finalsync * 10)) -lt "$presync" ] || fail "more than a tenth of the volume crossed after the freeze"
pass "$(seen "r['rows_acked']") rows committed through the handoff, none lost; volume presync $presync, finalsync $finalsync bytes"
