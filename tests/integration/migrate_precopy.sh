# Memory moves before the freeze. A service rewrites part of a 40 MiB region while it is
# handed off; pre-copy sends the region while it runs (its pages of growing numbers as word
# differences), and after the freeze only the pages written since the last round cross. The service then proves its whole region intact
# (every page matches the generation it last wrote) and its write count carried on, with
# Docker's restore begun before the pages were in. On the
# way back a damaged page-store entry at the destination is caught and sent again. Where
# the host can track writes (uffd-wp), rounds after the first read only the pages written,
# the container holds no userfaultfd afterwards, and dockmig killed in a round leaves the
# service running at the source, untracked and intact.
# dockmig lends runc.conf to CRIU's page server for each dump: nothing of a lend may be left
# after any migration, and an agent puts back one left changed by a dump that died.
source "$(dirname "$0")/lib.sh"
need_fault_points
# The file is the host's, shared with other beds and the benchmark: read and written only
# under the lock dockmig's lends take, never while one of them has lent it out.
absent_mark='# dockmig: runc.conf did not exist'
fake_lend='page-server\naddress 127.0.0.1\nport 9\n'  # what a dump killed in its lend leaves
# Nothing of a lend left: no lent lines, no saved copy. (What the file holds besides may
# change meanwhile: a benchmark on this host installs and removes its own.)
conf_clean() {
  (flock 9 && [ ! -e "$runc_conf.dockmig-saved" ] && ! grep -qE '^# dockmig: for one|^port 9$' "$runc_conf" 2>/dev/null) \
    9>>"$runc_conf_lock"
}
# Only if the test's own broken lend is still there (the agent did not repair it).
put_back_conf() {
  (flock 9 || exit 1
   grep -qx 'port 9' "$runc_conf" 2>/dev/null && [ -e "$runc_conf.dockmig-saved" ] || exit 0
   if [ "$(cat "$runc_conf.dockmig-saved")" = "$absent_mark" ]; then rm -f "$runc_conf"; else cp "$runc_conf.dockmig-saved" "$runc_conf"; fi
   rm -f "$runc_conf.dockmig-saved") 9>>"$runc_conf_lock"
}
trap 'stop_agents; cleanup_containers; put_back_conf; rm -f "$report" "$errors"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
"$TESTBED" rate 20mbit >/dev/null
# Without return caches: the way back and the stop-and-copy hop must move the memory
# itself here (migrate_return_trip.sh tests the cache).
start_agent edge-a --store-budget 0
start_agent edge-b --store-budget 0

# 40 MiB: above the size from which the dump goes to CRIU's page server (32 MiB).
mib=40 pages=$((40 * 256))
start_memwriter mig-precopy $mib

verified() { memwriter_verified "$1" mig-precopy; }

step "edge-a -> edge-b, pre-copy"
before=$(count_of edge-a mig-precopy)
migrate edge-a edge-b mig-precopy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(memory_field "['mode']")" = pre-copy ] || fail "memory mode is $(memory_field "['mode']")"
[ "$(field "['checkpoint_path']")" = page-server ] || fail "the memory went through $(field "['checkpoint_path']")"
rounds=$(memory_field "['rounds'].__len__()")
sent=$(memory_field "['frozen_pages_sent']") known=$(memory_field "['frozen_pages_known']")
step "$rounds rounds ($(memory_field "['stop_reason']")); after the freeze $sent pages sent, $known already there"
[ "$rounds" -ge 1 ] || fail "no pre-copy round"
# Round 1 sends the region, except the pages written again before it read them: those it
# leaves for round 2 or the freeze.
first_sent=$(memory_field "['rounds'][0]['pages_sent']") first_deferred=$(memory_field "['rounds'][0]['pages_deferred']")
step "round 1: $first_sent pages sent, $first_deferred left for later"
[ $((first_sent + first_deferred)) -ge "$pages" ] || fail "round 1 did not send the region"
# A quarter of the region holds growing 32-bit numbers (apps/memwriter.c): they cross as
# word differences, and the region checked below proves them decoded exactly.
coded=$(memory_field "['pages_word_differences']")
step "$coded pages crossed as word differences"
[ "$coded" -ge $((pages / 8)) ] || fail "only $coded pages crossed as word differences, of the region's $((pages / 4)) growing ones"
# Round 1 reads what CRIU dumps, not the binaries' file pages that write tracking marks.
dumped=$((sent + known + $(memory_field "['frozen_pages_zero']")))
[ "$(memory_field "['rounds'][0]['pages_read']")" -le $((dumped + 32)) ] \
  || fail "round 1 read $(memory_field "['rounds'][0]['pages_read']") pages where CRIU dumped $dumped"
[ "$known" -ge $((pages * 9 / 10)) ] || fail "the destination had only $known pages from pre-copy"
[ "$sent" -lt $((known / 5)) ] || fail "$sent pages crossed after the freeze, not a fifth of the $known pre-copied"
tracking=$(memory_field "['tracking']")
step "tracking: $tracking; pages read per round: $(memory_field "[\"rounds\"]" | python3 -c 'import ast,sys; print([r["pages_read"] for r in ast.literal_eval(sys.stdin.read())])')"
doctor=$(in_ns edge-a "$DOCKMIG" doctor --docker "$EDGE_A_DOCKER" 2>&1 || true)
if grep -q 'pre-copy tracking *uffd-wp' <<<"$doctor"; then
  [ "$tracking" = uffd-wp ] || fail "this host tracks writes (doctor says uffd-wp), the migration used: $tracking"
  stopped_ms=$(memory_field "['rounds'][0]['container_stopped_seconds'] * 1000")
  step "round 1 stopped the container for $stopped_ms ms to start tracking it"
  python3 -c "import sys; sys.exit(0 if $stopped_ms < 100 else 1)" || fail "tracking stopped the container for $stopped_ms ms"
  if [ "$rounds" -ge 2 ]; then
    first=$(memory_field "['rounds'][0]['pages_read']") second=$(memory_field "['rounds'][1]['pages_read']")
    [ "$second" -lt $((first / 4)) ] || fail "round 2 read $second pages of $first: write tracking did not narrow it"
  fi
  # The writer never stops, so tracking knew pages written since the last round: they went
  # out beside CRIU's dump, read from the frozen container (and the memory checked below
  # proves the assembly exact whatever that round sent).
  during=$(memory_field "['round_during_freeze']")
  [ "$during" != None ] || fail "no round ran during the freeze, though the container kept writing"
  step "during the freeze: $(memory_field "['round_during_freeze']['pages_read']") pages read, $(memory_field "['round_during_freeze']['pages_sent']") sent beside the dump (cut short: $(memory_field "['round_during_freeze']['cut_short']"))"
else
  step "this host cannot track writes (see dockmig doctor): pre-copy used $tracking"
fi
[ -z "$(holding_userfaultfd edge-b mig-precopy)" ] || fail "the restored container holds a userfaultfd"
answer=$(verified edge-b)
step "edge-b: $answer"
[[ $answer == ok* ]] || fail "the memory at edge-b is not intact: $answer"
after=$(count_of edge-b mig-precopy)
[ "$after" -gt "$before" ] || fail "the write count did not carry on ($before -> $after)"
# The bed's agents share dockerd's mount and pid namespaces, so Docker's restore began at
# the `memory` message and waited at the gate for the pages (docs/design.md).
early=$(field "['restore']['started_early_seconds']")
step "the restore started $early s before the memory was in"
python3 -c "import sys; sys.exit(0 if $early > 0 else 1)" || fail "the restore did not start before the memory was in"
# The pages were staged on /dev/shm (this host has the room) and nothing is left there.
[ -d "$(memory_dir_of edge-b)" ] || fail "edge-b's agent staged no pages in $(memory_dir_of edge-b)"
[ -z "$(ls -A "$(memory_dir_of edge-b)")" ] || fail "pages left in $(memory_dir_of edge-b): $(ls -A "$(memory_dir_of edge-b)")"

step "edge-b -> edge-a, with a damaged page store at edge-a"
# Eight pages from the middle of the store: the region, not the often rewritten tables.
damage_store() {
  local f
  for f in $(find "$(memory_dir_of edge-a)" -name pages.store); do
    dd if=/dev/urandom of="$f" bs=4096 seek=$(($(stat -c %s "$f") / 8192)) count=8 conv=notrunc status=none
  done
}
migrate_pausing source.before-checkpoint damage_store -- edge-b edge-a mig-precopy
[ "$migrate_status" = 0 ] || fail "the way back exited $migrate_status"
resent=$(memory_field "['frozen_pages_resent']")
step "pages sent again: $resent"
[ "$resent" -ge 1 ] || fail "the damaged store entries were not sent again"
answer=$(verified edge-a)
step "edge-a: $answer"
[[ $answer == ok* ]] || fail "the memory at edge-a is not intact: $answer"
step "edge-a -> edge-b, stop-and-copy: all memory after the freeze"
migrate edge-a edge-b mig-precopy --mode stop-and-copy
[ "$migrate_status" = 0 ] || fail "the stop-and-copy migration exited $migrate_status"
[ "$(memory_field "['mode']")" = stop-and-copy ] || fail "memory mode is $(memory_field "['mode']")"
[ "$(memory_field "['rounds'].__len__()")" = 0 ] || fail "stop-and-copy ran pre-copy rounds"
[ "$(memory_field "['frozen_pages_sent']")" -ge "$pages" ] || fail "stop-and-copy sent only $(memory_field "['frozen_pages_sent']") pages"
step "downtime $(field "['downtime_seconds']") s for $(memory_field "['frozen_pages_sent']") pages after the freeze"
answer=$(verified edge-b)
[[ $answer == ok* ]] || fail "the memory at edge-b is not intact after stop-and-copy: $answer"
conf_clean || fail "$runc_conf still holds what a dump lent: $(runc_conf_text)"

# interrupt_in_round N: starts edge-b -> edge-a, kills dockmig once round N has begun, and
# checks that the service runs on at edge-b, untracked, its memory intact. The attempt
# before may still be waiting at edge-a for its source: this one supersedes it
# (docs/protocol.md, "A retry supersedes a session left waiting").
start_interrupted() {
  local round=$1 log=$2
  in_ns edge-b "$DOCKMIG" -v migrate mig-precopy "$EDGE_A_ADDR:$agent_port" --docker "$EDGE_B_DOCKER" \
    "${transport_args[@]}" --json >/dev/null 2>"$log" &
  local migrating=$! waited=0
  until grep -q "pre-copy round $round begins" "$log"; do
    sleep 0.05; waited=$((waited + 1))
    [ $waited -lt 1200 ] || { cat "$log" >&2; rm -f "$log"; fail "pre-copy round $round did not begin within 60 s"; }
  done
  [ "$round" -gt 1 ] || sleep 1  # in the middle of round 1's read
  pkill -INT -f "$DOCKMIG -v migrate mig-precopy" || fail "dockmig was not running in round $round"
  wait "$migrating" || true
}
interrupt_in_round() {
  local round=$1 log before
  log=$(mktemp)
  before=$(count_of edge-b mig-precopy)
  start_interrupted "$round" "$log"
  grep -q "tracking the writes" "$log" || step "(no process was tracked in this run)"
  rm -f "$log"
  running edge-b mig-precopy || fail "interrupted in round $round, the source is not running"
  ! running edge-a mig-precopy || fail "interrupted in round $round, a copy runs at edge-a too"
  [ -z "$(holding_userfaultfd edge-b mig-precopy)" ] || fail "interrupted in round $round, the source holds a userfaultfd"
  wait_until 10 count_at_least edge-b mig-precopy $((before + 10)) || fail "interrupted in round $round, the service stopped writing"
  answer=$(verified edge-b)
  [[ $answer == ok* ]] || fail "interrupted in round $round, the memory is not intact: $answer"
  step "interrupted in round $round: edge-b runs on, untracked: $answer"
}
step "dockmig interrupted in pre-copy rounds 1 and 2"
interrupt_in_round 1
interrupt_in_round 2

step "a retry right after dockmig was interrupted succeeds"
log=$(mktemp)
start_interrupted 1 "$log"
rm -f "$log"
before=$(count_of edge-b mig-precopy)
migrate edge-b edge-a mig-precopy
[ "$migrate_status" = 0 ] || fail "the retry right after the interrupt exited $migrate_status: $(cat "$errors")"
running edge-a mig-precopy || fail "after the retry the service does not run at edge-a"
! running edge-b mig-precopy || fail "after the retry a copy runs at edge-b too"
wait_until 10 count_at_least edge-a mig-precopy $((before + 10)) || fail "after the retry the service stopped writing"
answer=$(verified edge-a)
[[ $answer == ok* ]] || fail "after the retry the memory at edge-a is not intact: $answer"
superseded=$(grep -c "came from the same source; this one rolls back" "$BED_STATE/agent-edge-a.log" || true)
step "retried at once: edge-a runs it, $answer ($superseded waiting sessions superseded at edge-a)"

step "an agent that starts puts back a runc.conf left changed by an interrupted dump"
stop_agents
# What a dump killed in its lend leaves: the lent file, and the saved copy beside it.
(flock 9 || exit 1
 mkdir -p /etc/criu
 if [ -e "$runc_conf" ]; then cp "$runc_conf" "$runc_conf.dockmig-saved"; else echo "$absent_mark" >"$runc_conf.dockmig-saved"; fi
 printf "$fake_lend" >>"$runc_conf") 9>>"$runc_conf_lock"
start_agent edge-b
# The agent settles what its last run left before it listens: repaired once the port answers.
conf_clean || fail "the agent did not put $runc_conf back before it listened: $(runc_conf_text)"
pass "$rounds rounds ($tracking), $sent pages after the freeze, $resent re-sent on the way back, stop-and-copy intact, interrupts harmless"
