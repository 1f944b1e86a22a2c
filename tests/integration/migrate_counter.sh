# A counter moves from edge-a to edge-b and carries on from the value it had when frozen
# (read from edge-a's writable layer at that moment), not from zero; a file
# written before the migration, one written after presync, and a file the process holds
# open (and keeps writing through the same descriptor) all arrive. The image comes from
# the registry; the source is gone afterwards.
source "$(dirname "$0")/lib.sh"
need_fault_points
# A host that never had CRIU's config dir gets it from the first lend (an empty one is
# what a lend leaves where there was no runc.conf): the handoff below is that first lend.
under_runc_conf_lock rmdir "$(dirname "$runc_conf")" 2>/dev/null || true
start_agent edge-b
service='mkdir -p /data && echo before > /data/before && exec 3>>/data/open.log
i=0; while true; do i=$((i+1)); '"$write_count"'; echo "tick $i" >&3; sleep 0.1; done'
dk edge-a run -d --name mig-counter --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
dk edge-b rmi -f "$IMAGE_TINY" >/dev/null 2>&1 || true
# Five seconds of counting first: a counter started afresh at edge-b could not catch up
# with the frozen value in the moment between the restore and the check.
wait_until 15 count_at_least edge-a mig-counter 50 || fail "the counter did not start"

frozen_at=0
migrate_pausing source.before-checkpoint "dk edge-a exec mig-counter sh -c 'echo during > /data/during'" \
  source.before-finalsync 'frozen_at=$(count_of edge-a mig-counter)' \
  -- edge-a edge-b mig-counter
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(field "['succeeded']")" = True ] || fail "the report does not say succeeded"
[ "$(field "['image_source']")" = registry ] || fail "image_source is $(field "['image_source']"), expected registry"
step "count on edge-a when frozen: $frozen_at"
[ "$frozen_at" -ge 50 ] || fail "the count read at the freeze is $frozen_at, below the 50 it had before"

running edge-b mig-counter || fail "mig-counter does not run on edge-b"
exists edge-a mig-counter && fail "the source container is still on edge-a"
count=$(count_of edge-b mig-counter)
step "count on edge-b after the handoff: $count"
[ "$count" -ge "$frozen_at" ] || fail "the count restarted at edge-b: $count, it was $frozen_at when frozen"
wait_until 10 count_at_least edge-b mig-counter $((count + 5)) || fail "the counter stopped at $count on edge-b"
[ "$(dk edge-b exec mig-counter cat /data/before)" = before ] || fail "/data/before did not arrive"
[ "$(dk edge-b exec mig-counter cat /data/during)" = during ] || fail "/data/during (written after presync) did not arrive"
lines1=$(dk edge-b exec mig-counter wc -l < /dev/null /data/open.log | awk '{print $1}')
first=$(dk edge-b exec mig-counter head -n1 /data/open.log)
[ "$first" = "tick 1" ] || fail "open.log lost its beginning ($first)"
sleep 0.5
lines2=$(dk edge-b exec mig-counter wc -l /data/open.log | awk '{print $1}')
[ "$lines2" -gt "$lines1" ] || fail "the process no longer writes to its open file ($lines1 -> $lines2 lines)"
gaps=$(dk edge-b exec mig-counter awk '$2 != NR {print NR; exit}' /data/open.log)
[ -z "$gaps" ] || fail "open.log has a gap or restart at line $gaps"
# The images moved on while Docker's checkpoint call wound down, and runc.conf was back
# before the destination's CRIU started: it kept its own log and stats (on the bed both
# edges share /etc/criu, so a lend left in place would have sent them to the source's dir).
[ "$(field "['criu']['dump']['docker_after_overlapped']")" = True ] || fail "the images waited for Docker's checkpoint call"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$(field "['criu']['restore']['seconds']")" \
  || fail "the destination found no CRIU restore stats of its own"
# runc's masked dirs came back as the host's empty read-only tmpfs, not from CRIU's tars
# (masked_mounts.h): still empty, still unwritable.
masks=$(dk edge-b exec mig-counter sh -c 'grep -E " /(proc/acpi|sys/firmware) " /proc/self/mountinfo' || true)
step "masks: $masks"
[ -n "$masks" ] || [ ! -d /proc/acpi ] || fail "no mask over /proc/acpi after the restore"
if [ -n "$masks" ]; then
  grep -q "dockmig-masked" <<<"$masks" || fail "the masks were archived by CRIU, not external: $masks"
  # Both ends are on the host, in their dockerd's mount namespace: the report says so.
  case $(field "['masked_dirs']") in
    "runc's masked dirs ("*") lent to CRIU as external mounts: both ends map their key") ;;
    *) fail "the report's masked_dirs does not say the masks were lent: $(field "['masked_dirs']")" ;;
  esac
  [ -z "$(dk edge-b exec mig-counter ls -A /proc/acpi /sys/firmware 2>/dev/null | grep -v ':$' | grep .)" ] \
    || fail "a masked dir is not empty after the restore"
  dk edge-b exec mig-counter touch /proc/acpi/x 2>/dev/null && fail "a masked dir is writable after the restore"
fi
under_runc_conf_lock grep -q "dockmig: for one dump only" "$runc_conf" 2>/dev/null && fail "runc.conf still holds a dump's lent lines"
for p in plan image presync checkpoint finalsync restore confirm; do
  step "$p: $(phase_field $p seconds) s, $(phase_field $p wire_bytes) bytes on the wire"
done
pass "count $count (frozen at $frozen_at), downtime $(field "['downtime_seconds']") s"
