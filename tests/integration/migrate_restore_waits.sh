# A restore never reads the lines a dump has lent /etc/criu/runc.conf (on one host an
# incoming and an outgoing handoff may overlap; CRIU lets the file override what runc asks
# for): it waits for the file's lock. First, so that this proves something: a runc.conf
# naming another images dir makes a plain `docker start --checkpoint` fail. Then a handoff
# whose destination comes to restore while another process holds the lock with such a file
# waits until the file is put back, and succeeds; the count carried on.
source "$(dirname "$0")/lib.sh"
need_fault_points
# The file is the host's, shared with other beds and the benchmark: read and written only
# under the lock dockmig's dumps and restores take, never while one of them has lent it out.
original=$(mktemp)
had_conf=$( (flock 9 && if [ -e "$runc_conf" ]; then cp "$runc_conf" "$original" && echo 1; fi) 9>>"$runc_conf_lock")
foreign_line="images-dir /nonexistent/another-dump"
put_back_conf() {
  if [ -n "${had_conf:-}" ]; then cp "$original" "$runc_conf"; else rm -f "$runc_conf"; fi
}
lend_foreign_lines() { mkdir -p /etc/criu; { cat "$original"; echo "$foreign_line"; } >"$runc_conf"; }
# Put back only what this test lent, if it died while it had.
put_back_foreign() { (flock 9 && if grep -qxF "$foreign_line" "$runc_conf" 2>/dev/null; then put_back_conf; fi) 9>>"$runc_conf_lock"; }
trap 'stop_agents; cleanup_containers; put_back_foreign
      rm -f "$original" "$report" "$errors"' EXIT

dk edge-a run -d --name foreign --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a foreign 5 || fail "the counter did not start"
under_runc_conf_lock dk edge-a checkpoint create foreign c1 >/dev/null || fail "checkpoint failed"
restored=$( (flock 9 || exit 1
  lend_foreign_lines
  if dk edge-a start --checkpoint c1 foreign >/dev/null 2>&1; then echo 1; else echo 0; fi
  put_back_conf) 9>>"$runc_conf_lock")
[ "$restored" = 0 ] || fail "a restore with another dump's images dir in runc.conf succeeded: this test proves nothing"
step "a restore reading another dump's runc.conf lines fails, as expected"

DOCKMIG_FAULTS=destination.before-restore=pause start_agent edge-b
dk edge-a run -d --name waits --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a waits 5 || fail "the counter did not start"
status_file=$(mktemp)
(migrate edge-a edge-b waits; echo "$migrate_status" >"$status_file") &
job=$!
fault_wait destination.before-restore || { wait $job; fail "the destination never came to its restore"; }
held=$(mktemp -u)
(flock 9 || exit 1; lend_foreign_lines; touch "$held"; sleep 4; put_back_conf) 9>>"$runc_conf_lock" &
holder=$!
wait_until 10 test -e "$held" || fail "the lock holder did not start"
rm -f "$held"
fault_release destination.before-restore
wait $job || true
wait $holder
migrate_status=$(cat "$status_file"); rm -f "$status_file"
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b waits || fail "the container does not run on edge-b: $(head -n3 "$errors")"
exists edge-a waits && fail "the source is still on edge-a"
count=$(count_of edge-b waits)
[ "$count" -gt 5 ] || fail "the count restarted ($count)"
pass "the restore waited for runc.conf's lock and succeeded; count $count"
