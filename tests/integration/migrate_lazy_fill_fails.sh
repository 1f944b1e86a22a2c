# A lazy restore whose fill fails after the restored container already runs: the
# destination's agent pauses before it waits for the lazy-pages daemon
# (destination.before-lazy-fill-wait), the test kills that daemon mid-fill, and then the
# copy at the destination, which ran on memory that never all arrived, must be killed
# and the source resumed from its checkpoint: its write count carries on, its memory is
# intact, and at no time do two copies run.
source "$(dirname "$0")/lib.sh"
need_fault_points
[ -w /sys/fs/cgroup/cpu ] || { echo "SKIP: no cgroup v1 cpu controller at /sys/fs/cgroup/cpu to slow the lazy-pages daemon with" >&2; exit 77; }
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors"; rm -rf "$app_dir"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true; stop_throttle' EXIT
"$TESTBED" rate 100mbit >/dev/null
start_agent edge-a --store-budget 0
DOCKMIG_FAULTS=destination.lazy-daemon-started=pause,destination.before-lazy-fill-wait=pause start_agent edge-b --store-budget 0

app_dir=$(mktemp -d)
build_memwriter "$app_dir" dockmig-test/memwriter:1
mib=512
dk edge-a run -d --name mig-lazyfail --label "$label" dockmig-test/memwriter:1 /memwriter $mib 50 >/dev/null
wait_until 60 count_at_least edge-a mig-lazyfail 100 || fail "memwriter did not start writing"

daemon_pid() {
  local id root
  id=$(dk edge-b inspect -f '{{.Id}}' mig-lazyfail) root=$(dk edge-b info -f '{{.DockerRootDir}}')
  pgrep -f "lazy-pages.*$root/containers/$id/dockmig-lazy" | head -1
}
# Before the restore: the daemon gets 5% of a CPU from now on (a cpu cgroup of its own;
# signals would not do: CRIU's daemon fails on an interrupted poll), so that its fill is
# still under way at the next pause.
slow_cgroup=/sys/fs/cgroup/cpu/dockmig-lazyfill-$$
throttle_daemon() {
  local pid
  pid=$(daemon_pid)
  [ -n "$pid" ] || { echo "no lazy-pages daemon before the restore" >&2; return 1; }
  mkdir -p "$slow_cgroup" && echo 100000 >"$slow_cgroup/cpu.cfs_period_us" && echo 5000 >"$slow_cgroup/cpu.cfs_quota_us" \
    && echo "$pid" >"$slow_cgroup/cgroup.procs"
}
stop_throttle() { [ ! -d "$slow_cgroup" ] || rmdir "$slow_cgroup" 2>/dev/null || true; }
# At the pause: the copy runs at edge-b, and its daemon is killed before it filled every page.
daemon_killed=''
kill_daemon() {
  running edge-b mig-lazyfail || { echo "the copy does not run at edge-b at the pause" >&2; return 1; }
  local pid
  pid=$(daemon_pid)
  [ -n "$pid" ] || { echo "no lazy-pages daemon for the copy: its fill ended already" >&2; return 1; }
  kill -9 "$pid" && daemon_killed=$pid
}

step "edge-a -> edge-b, restored lazily; the daemon is killed mid-fill"
before=$(count_of edge-a mig-lazyfail)
migrate_pausing destination.lazy-daemon-started throttle_daemon destination.before-lazy-fill-wait kill_daemon -- edge-a edge-b mig-lazyfail --restore lazy
[ -n "$daemon_killed" ] || fail "the daemon was not killed"
[ "$migrate_status" = 1 ] || fail "dockmig migrate exited $migrate_status, not 1 (failed, the source runs)"
grep -qi 'lazy' "$errors" || fail "the error does not name the lazy restore: $(tail -3 "$errors")"
[ "$(field "['rolled_back']")" = True ] || fail "the report does not say the source was resumed"
running edge-a mig-lazyfail || fail "the source is not running after the failed fill"
wait_until 20 sh -c "! '$TESTBED' docker edge-b inspect mig-lazyfail >/dev/null 2>&1" \
  || fail "the copy whose memory never all arrived is left at edge-b"
wait_until 10 count_at_least edge-a mig-lazyfail $((before + 10)) || fail "the resumed source does not write"
answer=$(memwriter_verified edge-a mig-lazyfail)
step "edge-a: $answer"
[[ $answer == ok* ]] || fail "the resumed source's memory is not intact: $answer"
pass "a fill that failed after the copy ran: the copy was removed, the source resumed and wrote on ($before -> $(count_of edge-a mig-lazyfail))"
