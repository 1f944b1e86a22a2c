# Follow-me (docs/fleet.md, "Follow-me"): three edges, each with its own dockerd (edge-c is
# added to the shared bed for this test, and taken away after it), the bed's etcd, and a
# client that moves edge-a -> edge-b -> edge-c -> edge-a while it asks the counting service
# for its count; the gateway (tools/fleet/follow-me, in the cloud) prepares the next edge
# ahead by its fleet name (POST /v1/prepare) and hands the service off at each move
# (`dockmig fleet handoff`). At every hop: the count never went back, exactly one copy
# runs (docker ps on the three edges), on the client's new edge, and the preparation sent
# the writable layer's 2 MB blob ahead, so the handoff's edge link carried less than it.
source "$(dirname "$0")/lib.sh"
added_edge=no
out=$(mktemp)
trap 'for pid in $(cat "$BED_STATE/follow-me/agents.pids" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
      for host in edge-a edge-b edge-c; do dk "$host" rm -f follow-me >/dev/null 2>&1 || true; done
      in_ns edge-a etcdctl --endpoints "$ETCD" del /dockmig/services/follow-me >/dev/null 2>&1
      [ "$added_edge" = no ] || "$TESTBED" edge-c remove >/dev/null 2>&1
      rm -f "$out" "$report" "$errors"' EXIT

if [ "$BED_EDGES" != 3 ]; then
  "$TESTBED" edge-c add || fail "could not add edge-c to the bed"
  added_edge=yes
  eval "$("$TESTBED" env)"
fi

step "the tour, prepared: $(echo edge-a edge-b edge-c edge-a | sed 's/ / -> /g')"
tour_status=0
"$(dirname "$0")/../../tools/fleet/follow-me" --dwell 1 --blob-mb 2 --keep --json >"$out" || tour_status=$?
hop() { python3 -c "import json; r=json.load(open('$out')); h=r['tours'][0]['hops'][$1]; print(h$2)"; }
result() { python3 -c "import json; r=json.load(open('$out')); print(r$1)"; }
[ "$tour_status" = 0 ] || fail "follow-me exited $tour_status: $(result "['error']" 2>/dev/null || head -c 600 "$out")"
[ "$(python3 -c "import json; print(len(json.load(open('$out'))['tours'][0]['hops']))")" = 3 ] || fail "not three hops"
[ "$(result "['tours'][0]['state_continued']")" = True ] || fail "the count went back: $(result "['tours'][0]['went_back']")"
[ "$(result "['tours'][0]['answers']")" -gt 100 ] || fail "the client got $(result "['tours'][0]['answers']") answers"
for i in 0 1 2; do
  from=$(hop $i "['from']") to=$(hop $i "['to']")
  [ "$(hop $i "['running_on']")" = "['$to']" ] || fail "$from -> $to: the service runs on $(hop $i "['running_on']")"
  before=$(hop $i "['count_before']") after=$(hop $i "['count_after']")
  [ "$after" -ge "$before" ] || fail "$from -> $to: the count went back ($before -> $after)"
  [ "$(hop $i "['prepare']['host']")" = "$to" ] || fail "$from -> $to: the preparation went to $(hop $i "['prepare']")"
  prepared=$(hop $i "['prepare']['edge_link_bytes']") handed=$(hop $i "['edge_link_bytes']")
  [ "$prepared" -gt 1500000 ] || fail "$from -> $to: the preparation put $prepared bytes on the edge link"
  [ "$handed" -lt 1000000 ] || fail "$from -> $to: the prepared handoff put $handed bytes on the edge link"
  step "$from -> $to: handoff $(hop $i "['handoff_seconds']") s, client gap $(hop $i "['client_gap_seconds']") s," \
    "edge link $handed bytes (preparation $prepared); count $before -> $after; runs on $to only"
done

step "from outside: one copy, on edge-a, counting on"
last=$(hop 2 "['count_after']")
running edge-a follow-me || fail "follow-me does not run on edge-a"
for host in edge-b edge-c; do
  [ -z "$(dk "$host" ps -aq --filter name=^follow-me$)" ] || fail "a copy of follow-me is left on $host"
done
count=$(number_of dk edge-a exec follow-me cat /www/count)
[ "$count" -ge "$last" ] || fail "the count on edge-a is $count, below the $last the client saw"
pass "three hops, each prepared ahead: the count carried on, one copy after each"
