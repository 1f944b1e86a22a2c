# Prometheus's view of one handoff: edge-a's agent is scraped at GET /metrics (with the
# gateway's token; without one it is 401) before the handoff, while it is held at the
# fault point source.before-presync, and after it. Meanwhile one handoff is started and in
# flight; afterwards started and succeeded moved by exactly one, nothing failed or rolled
# back, the wire-bytes counter moved by the report's bytes_total, the downtime histogram
# counted one handoff, and nothing is in flight. The destination, edge-b, is scraped too:
# one incoming session while the handoff is held, none after it, and one more ended
# `committed`. The agent logs in JSON (--log-format json after the verb): every line one
# object, the handoff there at level info, the token nowhere.
source "$(dirname "$0")/hook_lib.sh"
need_fault_points
start_hook_agent edge-b
hook_agent_env=(DOCKMIG_FAULTS=source.before-presync=pause)
read -ra tls_a <<<"$(tls_for edge-a)"
start_hook_agent edge-a "${tls_a[@]}" --log-format json -v
start_counter edge-a hook-metrics

# scrape NAME [HOST]: HOST's (default edge-a's) /metrics into $hook_dir/NAME.prom.
scrape() {
  api "${2:-edge-a}" GET /metrics
  expect_status 200 "GET /metrics ($1)"
  cp "$body_file" "$hook_dir/$1.prom"
}
# metric NAME SERIES: the value of SERIES (e.g. 'x_total{reason="io"}') in scrape NAME; 0 when absent.
metric() {
  python3 - "$hook_dir/$1.prom" "$2" <<'PY'
import sys
path, series = sys.argv[1], sys.argv[2]
for line in open(path):
    if line.startswith("#"): continue
    name, _, value = line.rstrip("\n").rpartition(" ")
    if name == series:
        print(int(float(value)) if float(value).is_integer() else float(value)); break
else:
    print(0)
PY
}
# moved SERIES: how much SERIES moved from the scrape before to the one after.
moved() { echo $(($(metric after "$1") - $(metric before "$1"))); }
# incoming NAME: edge-b's migrations received now, all phases summed, in scrape NAME.
incoming() {
  python3 - "$hook_dir/$1.prom" <<'PY'
import sys
print(int(sum(float(line.split()[-1]) for line in open(sys.argv[1]) if line.startswith("dockmig_incoming_sessions{"))))
PY
}
ended_committed='dockmig_incoming_sessions_ended_total{outcome="committed"}'

api_token='' api edge-a GET /metrics
expect_status 401 "GET /metrics without a token"
scrape before
grep -q '^# TYPE dockmig_handoff_downtime_seconds histogram$' "$hook_dir/before.prom" || fail "no downtime histogram declared"
grep -q '^dockmig_build_info{version="[^"]*",commit="[^"]*"} 1$' "$hook_dir/before.prom" || fail "no build info"
[ "$(metric before dockmig_handoffs_in_flight)" = 0 ] || fail "handoffs in flight before any"
scrape b-before edge-b
[ "$(incoming b-before)" = 0 ] || fail "edge-b receives $(incoming b-before) migrations before any"

post_json edge-a /v1/handoffs "{\"container\":\"hook-metrics\",\"destination\":\"$EDGE_B_ADDR:$hook_link_port\"}"
expect_status 202 "POST /v1/handoffs"
id=$(body "['id']")
fault_wait source.before-presync || fail "the handoff never reached presync"
scrape during
[ "$(metric during dockmig_handoffs_in_flight)" = 1 ] || fail "in flight during the handoff: $(metric during dockmig_handoffs_in_flight)"
[ $(($(metric during dockmig_handoffs_started_total) - $(metric before dockmig_handoffs_started_total))) = 1 ] \
  || fail "started did not move by one when the handoff started"
scrape b-during edge-b
[ "$(incoming b-during)" = 1 ] || fail "edge-b receives $(incoming b-during) migrations during the handoff"
step "edge-b during the handoff: $(grep '^dockmig_incoming_sessions{.*} 1$' "$hook_dir/b-during.prom")"
fault_release source.before-presync
wait_handoff edge-a "$id" 240
[ "$state" = succeeded ] || fail "the handoff ended $state: $(body "['reason']")"
report_bytes=$(body "['report']['bytes_total']")
scrape after

[ "$(moved dockmig_handoffs_started_total)" = 1 ] || fail "started moved by $(moved dockmig_handoffs_started_total)"
[ "$(moved dockmig_handoffs_succeeded_total)" = 1 ] || fail "succeeded moved by $(moved dockmig_handoffs_succeeded_total)"
[ "$(moved dockmig_handoffs_rolled_back_total)" = 0 ] || fail "a rollback was counted"
grep -q '^dockmig_handoffs_failed_total' "$hook_dir/after.prom" && fail "a failure was counted: $(grep failed_total "$hook_dir/after.prom")"
[ "$(moved dockmig_handoff_downtime_seconds_count)" = 1 ] || fail "the downtime histogram counted $(moved dockmig_handoff_downtime_seconds_count)"
[ "$(moved 'dockmig_handoff_phase_seconds_count{phase="presync"}')" = 1 ] || fail "presync was not timed once"
[ "$(moved dockmig_handoff_wire_bytes_total)" = "$report_bytes" ] \
  || fail "wire bytes moved by $(moved dockmig_handoff_wire_bytes_total), the report says $report_bytes"
[ "$(metric after dockmig_handoffs_in_flight)" = 0 ] || fail "still in flight after the end"
# The destination's session ends just after the source heard `committed`.
b_done() { scrape b-after edge-b && [ "$(incoming b-after)" = 0 ]; }
wait_until 10 b_done || fail "edge-b still receives $(incoming b-after) migrations after the end"
[ $(($(metric b-after "$ended_committed") - $(metric b-before "$ended_committed"))) = 1 ] \
  || fail "edge-b's committed sessions moved by $(($(metric b-after "$ended_committed") - $(metric b-before "$ended_committed")))"
grep -E '^dockmig_incoming_sessions_ended_total\{outcome="(rolled_back|superseded|failed)"\} [1-9]' "$hook_dir/b-after.prom" \
  && fail "edge-b counted a session that did not commit"
step "counters moved by one handoff, $report_bytes bytes on the wire, downtime sum $(metric after dockmig_handoff_downtime_seconds_sum) s"

log=$hook_dir/agent-edge-a.log
python3 - "$log" <<'PY' || fail "the agent's JSON log is not one object a line"
import json, sys
for number, line in enumerate(open(sys.argv[1]), 1):
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "msg"}, (number, entry)
PY
grep -q '"level":"info".*"msg":"handed hook-metrics off to ' "$log" || fail "the handoff is not in the log at info"
grep -q '"msg":"api: GET /metrics from ' "$log" || fail "the scrapes are not in the (debug) access log"
grep -qF "$gateway_token" "$log" && fail "the gateway's token is in the agent's log"
pass "handoff $id scraped before, during and after; JSON log without the token"
