#!/bin/bash
# A small fleet simulation (tools/fleet/simulate, docs/fleet.md "Scale") against a private
# etcd (tools/fleet/simulate/with-private-etcd): 50 hosts, 500 services, a few seconds of
# handoffs, some sent to two destinations at once, some asked of a host the record does
# not name, some whose reply or restore is lost. Passes only when every handoff was
# decided, no service ever had two owners (the table of copies, the swaps, the watched
# history) and each race had exactly one winner; and a destination broken on purpose (it
# restores though its swap lost) must be caught as a second owner.
set -euo pipefail
sim=$1
run=$(dirname "$0")/../../tools/fleet/simulate/with-private-etcd
command -v etcd >/dev/null || { echo "etcd is not installed (Debian's etcd-server); skipping"; exit 77; }
dir=$(mktemp -d /tmp/dockmig-fleet-sim-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT

status=0
"$run" "$sim" --hosts 20 --services 100 --rate 20 --duration 2 --ttl 3 --idle 1 --workers 8 \
  --race-share 0.5 --tag broken --restore-after-lost-swap >"$dir/broken.txt" 2>&1 || status=$?
[ "$status" = 1 ] && grep -q "while it runs at host" "$dir/broken.txt" \
  || { cat "$dir/broken.txt"; echo "a destination that restores after a lost swap was not caught (exit $status)"; exit 1; }
echo "fleet_simulation: the broken destination was caught: $(grep -m1 'double owners' "$dir/broken.txt")"

status=0
"$run" "$sim" --hosts 50 --services 500 --rate 20 --duration 5 --ttl 3 --idle 2 --workers 8 \
  --race-share 0.2 --stale-share 0.05 --lost-reply-share 0.1 --restore-fail-share 0.05 \
  --json "$dir/report.json" || status=$?
[ "$status" = 0 ] || { echo "the simulation failed (exit $status)"; exit 1; }
python3 - "$dir/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["handoffs"]; o = h["outcomes"]
def need(ok, what):
    if not ok: sys.exit("fleet_simulation: " + what + "\n" + json.dumps(r, indent=1))
need(h["started"] >= 80, f"only {h['started']} handoffs started")
decided = (o["committed"] + o["committed_decided_by_record"] + o["rolled_back"] + o["refused"]
           + o["refused_etcd_error_before_freeze"])
need(decided + o["skipped_busy"] == h["started"] and o["undecided"] == 0 and o["failed"] == 0,
     f"not every handoff was decided: {o}")
need(r["double_owners"] == 0 and r["history_forks"] == 0 and r["failures"] == 0, "a check failed")
need(h["races"] > 0 and h["swaps_lost"] >= h["races"], f"{h['races']} races but {h['swaps_lost']} swaps lost")
need(o["committed_decided_by_record"] > 0 and o["rolled_back"] > 0 and o["refused"] > 0,
     f"a path was not taken: {o}")
e = r["end"]
need(e["records"] == 500 and e["records_not_naming_the_running_copy"] == 0, f"records at the end: {e}")
need(e["winning_swaps_missing_from_history"] == 0 and e["watch_events"] >= 500 + h["swaps_won"],
     f"the watch missed writes: {e}")
print(f"fleet_simulation: {h['started']} handoffs, {o}; commit ms {r['commit_ms']}; no double owner")
PY
