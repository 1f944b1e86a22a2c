# The source's own rollback against a destination's late swap (docs/fleet.md, the commit
# rule (5)), in `dockmig migrate` itself, not killed as in fleet_partition's (f1):
#  (m1) edge-b's agent holds everything and is paused right before its swap
#       (destination.before-swap); the source's migrate drops its link as it starts to wait
#       for `restored` (source.before-restore=drop-link), asks edge-b how it ended, hears
#       "active" for 60 s, gives up, fences the record (it names edge-a; written back as it
#       was) and resumes the source from its checkpoint (exit 1, rolled back). Released,
#       edge-b's swap from the revision the source claimed is refused (Conflict) and it
#       removes its container: one copy, on edge-a, its count carried on from the freeze,
#       the record naming edge-a. Without the fence the swap would apply: two copies.
# About 90 s, most of it the source asking the destination (Session::await_settled_state).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_partition_lib.sh"
need_fault_points
trap 'stop_agents; cleanup_containers
      in_ns edge-a etcdctl --endpoints "$ETCD" del --prefix /dockmig/services/part-m >/dev/null 2>&1
      rm -f "$report" "$errors"' EXIT

step "(m1) dockmig migrate gives up on a destination paused before its swap, then the swap comes"
start_b destination.before-swap=pause
start_counter part-m1
DOCKMIG_FAULTS=source.before-restore=drop-link migrate_in_background part-m1
fault_wait destination.before-swap "$migrate_job" || fail "(m1): the destination never reached destination.before-swap"
stopped() { ! running "$@"; }
wait_until 20 stopped edge-a part-m1 || fail "(m1): the source still runs though the destination holds its checkpoint"
frozen=$(count_of edge-a part-m1)   # from its upper dir, while it is checkpointed
began=$SECONDS
migrate_ended
step "(m1) dockmig migrate ended after $((SECONDS - began)) s with exit $migrate_status"
[ "$migrate_status" != 0 ] && [ "$migrate_status" != 3 ] \
  || fail "(m1): dockmig migrate exited $migrate_status, expected a failure with the source resumed"
[ "$(field "['rolled_back']")" = True ] || fail "(m1): the report does not say rolled back"
grep -q "still reports migration .* as active" "$errors" \
  || fail "(m1): the error does not say the destination was asked and still reported the migration active"
running edge-a part-m1 || fail "(m1): the source was not resumed"
resumed=$(count_of edge-a part-m1)
[ "$resumed" -ge "$frozen" ] || fail "(m1): the count restarted ($resumed after the resume, $frozen at the freeze)"
[ "$(owner part-m1)" = edge-a ] || fail "(m1): the record names '$(owner part-m1)', expected edge-a"
# edge-b is not asked here: its eager restore waits at a gate inside `docker start`,
# which holds the container's lock, so an inspect would wait for the release.
step "(m1) the source resumed, the record names edge-a (count $frozen at the freeze, $resumed now); now the late swap"
late_swap_refused m1 part-m1
[ "$count" -gt "$resumed" ] || fail "(m1): the count on edge-a does not go on ($resumed, then $count)"

pass "dockmig migrate fenced the record before it resumed the source; the destination's late swap was refused"
