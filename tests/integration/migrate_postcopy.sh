# Post-copy and hybrid (docs/design.md, "Post-copy: pages after the restore"). The container
# restores at the destination right after the freeze, and the pages the destination lacks
# cross after, as the running copy touches them or the lazy-pages daemon's fill asks, each
# checked against the hash the source sent at the freeze. A memwriter rewriting part of its
# 40 MiB region proves the whole region intact and its write count carried on: after a
# post-copy handoff, after a hybrid one (pre-copy rounds, then post-copy for what they
# left), and after pre-copy turned hybrid by itself for a writer faster than the link.
# The source keeps its checkpoint until every page is in: a source that dies while the
# destination still fetches leaves the destination to give its copy up once the link's
# grace ends (its processes wait for their pages meanwhile, never run on zero pages), and
# `dockmig recover` resumes the source from its checkpoint.
source "$(dirname "$0")/lib.sh"
need_fault_points
recovered=$(mktemp)
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors" "$recovered"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
"$TESTBED" rate 20mbit >/dev/null
if ! in_ns edge-b "$CRIU" check --feature uffd-noncoop >/dev/null 2>&1; then
  echo "SKIP: this host's CRIU or kernel lacks non-cooperative userfaultfd, which post-copy needs (dockmig doctor)" >&2
  exit 77
fi
start_agent edge-a --store-budget 0
start_agent edge-b --store-budget 0

mib=40 pages=$((40 * 256))
start_memwriter mig-post $mib
verified() { memwriter_verified "$1" mig-post; }
postcopy_field() { field "['memory']['postcopy']['$1']"; }
# intact HOST BEFORE: the region is whole and the writes carried on from BEFORE.
intact() {
  local answer
  answer=$(verified "$1")
  step "$1: $answer"
  [[ $answer == ok* ]] || fail "the memory at $1 is not intact: $answer"
  [ "$(count_of "$1" mig-post)" -gt "$2" ] || fail "the write count did not carry on at $1"
}

step "edge-a -> edge-b, post-copy: no memory before the restore"
before=$(count_of edge-a mig-post)
migrate edge-a edge-b mig-post --mode post-copy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(memory_field "['mode']")" = post-copy ] || fail "memory mode is $(memory_field "['mode']"): $(postcopy_field fallback)"
[ "$(memory_field "['rounds'].__len__()")" = 0 ] || fail "post-copy ran pre-copy rounds"
[ "$(field "['restore']['mode']")" = lazy ] || fail "post-copy restored $(field "['restore']['mode']")"
deferred=$(postcopy_field pages_deferred) fetched=$(postcopy_field pages_fetched) sent=$(memory_field "['frozen_pages_sent']")
step "downtime $(field "['downtime_seconds']") s; $deferred pages left at edge-a, $fetched fetched in $(postcopy_field fetches) requests, the last $(postcopy_field last_page_seconds) s after the restore; $sent sent before it"
[ "$deferred" -ge "$pages" ] || fail "only $deferred pages were left at the source, the region alone has $pages"
[ "$sent" -lt $((pages / 10)) ] || fail "$sent pages crossed before the restore"
# The writer gives nothing back to the kernel: every page left behind was fetched.
[ "$fetched" = "$deferred" ] || fail "$fetched pages fetched of the $deferred left at the source"
! exists edge-a mig-post || fail "the source is still on edge-a"
[ -z "$(holding_userfaultfd edge-b mig-post)" ] || fail "the restored container holds a userfaultfd"
intact edge-b "$before"

step "edge-b -> edge-a, hybrid: pre-copy rounds, then post-copy for what they left"
before=$(count_of edge-b mig-post)
migrate edge-b edge-a mig-post --mode hybrid
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(memory_field "['mode']")" = hybrid ] || fail "memory mode is $(memory_field "['mode']"): $(postcopy_field fallback)"
rounds=$(memory_field "['rounds'].__len__()") known=$(memory_field "['frozen_pages_known']")
step "$rounds rounds; $known pages there before the freeze, $(memory_field "['round_during_freeze']['pages_sent']") sent beside the dump, $(postcopy_field pages_deferred) left at edge-b and fetched"
[ "$rounds" -ge 1 ] || fail "hybrid ran no pre-copy round"
[ "$known" -ge $((pages * 9 / 10)) ] || fail "the destination had only $known pages from pre-copy"
# (The round beside the dump may have sent every page written since the last round.)
[ "$(postcopy_field pages_fetched)" = "$(postcopy_field pages_deferred)" ] || fail "not every page left behind was fetched"
intact edge-a "$before"

step "a writer faster than the link: pre-copy turns hybrid"
# 3000 pages a second is 12 MiB/s of writes against 2.5 MB/s of link.
start_memwriter mig-hot 24 3000
before_hot=$(count_of edge-a mig-hot)
migrate edge-a edge-b mig-hot
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
reason=$(memory_field "['stop_reason']")
step "stop rule: $reason; memory mode $(memory_field "['mode']"), $(postcopy_field pages_deferred) pages left behind"
[[ $reason == "not converging"* ]] || fail "the stop rule did not find the writer outrunning the link: $reason"
[ "$(memory_field "['mode']")" = hybrid ] || fail "pre-copy that does not converge did not turn hybrid"
[ "$(postcopy_field pages_deferred)" -gt 0 ] || fail "hybrid left no page at the source"
answer=$(memwriter_verified edge-b mig-hot)
[[ $answer == ok* ]] || fail "the hot writer's memory at edge-b is not intact: $answer"
[ "$(count_of edge-b mig-hot)" -gt "$before_hot" ] || fail "the hot writer's count did not carry on"

step "edge-a -> edge-b, post-copy, and the source dies before it lent a page"
before=$(count_of edge-a mig-post)
state_a=$BED_STATE/agent-edge-a
migrate_pausing source.before-lend-pages kill_paused -- edge-a edge-b mig-post --mode post-copy
[ "$migrate_status" != 0 ] || fail "the migration whose source died exited 0"
# The copy at edge-b waits for its pages; once the link's grace is over its agent gives it up.
wait_until 120 sh -c "! '$TESTBED' docker edge-b inspect mig-post >/dev/null 2>&1" \
  || fail "edge-b kept a copy whose pages can never come"
running edge-a mig-post && fail "the source runs again without being resumed"
in_ns edge-a "$DOCKMIG" recover --state-dir "$state_a" "${transport_args[@]}" --json >"$recovered" || true
sed 's/^/    recover: /' "$recovered"
grep -q '"resumed"' "$recovered" || fail "recover did not resume the source"
running edge-a mig-post || fail "the source does not run after recover"
intact edge-a "$before"
step "edge-a -> edge-b, post-copy, and the destination's agent dies at its first fetch"
# The lazy-pages daemon holds the agent's end of their socket too, so it does not see its
# page server go: the copy's processes wait for their pages instead of running on zeros,
# until the agent's next start removes the copy; the source resumes from its checkpoint.
stop_agents
start_agent edge-a --store-budget 0
DOCKMIG_FAULTS=destination.before-first-fetch=crash start_agent edge-b --store-budget 0
before=$(count_of edge-a mig-post)
(migrate edge-a edge-b mig-post --mode post-copy; echo "$migrate_status" >"$DOCKMIG_FAULT_DIR/agent-death-status") &
handoff=$!
wait_until 60 sh -c "! kill -0 ${agent_pids[1]} 2>/dev/null" || fail "edge-b's agent did not die at its first fetch"
# Its lazy-pages daemon still waits for the pages (it did not see its page server go), so
# the copy's processes wait too, restoring or running, and none runs on zero pages. (Docker
# itself waits on a restore that waits, so the test asks /proc, not docker.)
sleep 2
lazy_daemon() { pgrep -f "lazy-pages .*--images-dir /var/lib/dockmig-bed.*/edge-b/" || true; }
[ -n "$(lazy_daemon)" ] || fail "the lazy-pages daemon at edge-b ended with its agent"
step "the copy at edge-b waits for its pages; edge-b's agent starts again"
start_agent edge-b --store-budget 0
wait_until 60 sh -c "! '$TESTBED' docker edge-b inspect mig-post >/dev/null 2>&1" || fail "edge-b's agent kept the copy"
[ -z "$(lazy_daemon)" ] || fail "a lazy-pages daemon is left at edge-b"
wait "$handoff" || true
# The source resumed once edge-b's agent said `aborted` (1), or, asking while it was down,
# stays in doubt (3) until `dockmig recover` asks again.
handoff_status=$(cat "$DOCKMIG_FAULT_DIR/agent-death-status")
step "the handoff exited $handoff_status"
case $handoff_status in
  1) [ "$(field "['rolled_back']")" = True ] || fail "the report does not say the source was resumed" ;;
  3) running edge-a mig-post && fail "the source runs again before anyone knew how the handoff ended"
     in_ns edge-a "$DOCKMIG" recover --state-dir "$state_a" "${transport_args[@]}" --json >"$recovered" || true
     grep -q '"resumed"' "$recovered" || fail "recover did not resume the source: $(cat "$recovered")" ;;
  *) fail "the handoff exited $handoff_status, not 1 (rolled back) or 3 (in doubt)" ;;
esac
intact edge-a "$before"
pass "post-copy: $deferred pages fetched after the restore, intact; hybrid and pre-copy turned hybrid intact; a source lost in post-copy resumed"
