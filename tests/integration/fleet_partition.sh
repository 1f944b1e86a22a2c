# Partitions and a lost etcd in the middle of a handoff (docs/fleet.md, "The partition
# cases"): the ownership record, not either side alone, decides who runs the service.
#  (p1) the edge link is cut (silently: `testbed edge-link cut`) while the destination is
#       paused right after its swap: the source does not resume, the destination runs, a
#       client routed by the record reaches it there; once the link is back one copy is left.
#  (p0) the same with the destination paused right before its swap, holding everything: the
#       cut is silent, so it swaps and runs, and the source follows the record as in (p1).
#  (p2) the link is cut before the destination holds the checkpoint (the source paused just
#       after the freeze), so it can never swap: the source resumes, the record still names
#       it, the destination removes its container; the client reaches the source.
#  (f1) the destination's swap comes late: paused before it (holding everything), while the
#       source's `dockmig migrate` dies (kill -9) and the link is cut, so `dockmig recover`
#       cannot ask the destination; it fences the record naming edge-a (written back as it
#       was) and resumes the source. Released, the destination's swap from the revision the
#       source claimed is refused (Conflict) and it removes its container: one copy, on
#       edge-a, which the record names. Without the fence the swap would apply: two copies.
#  (e1) etcd is stopped while the destination is paused before its swap: the swap gets no
#       answer, so the destination keeps its container (not started) while it reads the
#       record. etcd back within its 20 s of patience: it finds the record unchanged, writes
#       it back as it was (the fence: a late copy of the swap can never apply) and rolls
#       back. Later (the bed's etcd takes about 20 s to start again, so usually): the
#       outcome is unknown, the container stays, the source stays checkpointed (exit 3);
#       edge-b's agent started again removes it by the record, `dockmig recover` resumes
#       the source. Either way edge-a runs it at the end, and the record names it.
#  (l1) the answer to the destination's swap is lost after etcd applied it
#       (fleet.swap-answer-lost): the destination reads the record, finds its own write and
#       runs its copy; the source does not resume: one copy, on edge-b, which the record names.
#  (e2) etcd is stopped while the destination is paused after its swap: the handoff ends
#       (the swap was the commit; the destination tells the source); the record names it.
#  (e3) as (e2), and the destination's agent dies there too: the source can neither ask it
#       nor read the record, so it stays checkpointed (exit 3); with etcd back, a person's
#       `dockmig recover --resume --etcd` is refused (the record it reads to fence names edge-b);
#       once the agent is back, it starts its copy and `dockmig recover` removes the source.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_partition_lib.sh"
need_fault_points
link_cut=no etcd_stopped=no
subnet=172.31.45.0/24 port=7000
# A failed case may leave its `dockmig migrate` running: it must not outlive the test.
trap '[ -z "${migrate_job:-}" ] || pkill -KILL -P "$migrate_job" 2>/dev/null || true
      [ "$link_cut" = no ] || "$TESTBED" edge-link restore >/dev/null 2>&1
      [ "$etcd_stopped" = no ] || "$TESTBED" etcd start >/dev/null 2>&1
      stop_agents; cleanup_containers; cleanup_networks
      "$TESTBED" client-route "$subnet" none >/dev/null 2>&1
      in_ns edge-a etcdctl --endpoints "$ETCD" del --prefix /dockmig/services/part- >/dev/null 2>&1
      rm -f "$report" "$errors"' EXIT

# pause_handoff_at POINT SERVICE: edge-b's agent armed to pause at POINT, then the handoff
# of SERVICE (running on edge-a); returns once the destination waits there.
pause_handoff_at() {
  start_b "$1=pause"
  migrate_in_background "$2"
  fault_wait "$1" "$migrate_job" || fail "$2: the destination never reached $1"
}
cut_link() { "$TESTBED" edge-link cut; link_cut=yes; }
restore_link() { "$TESTBED" edge-link restore; link_cut=no; }
stop_etcd() { "$TESTBED" etcd stop; etcd_stopped=yes; }
start_etcd() { "$TESTBED" etcd start; etcd_stopped=no; }

# The service: a counter in memory that answers each connection on $port with its count,
# on a routed network (its own address, not masqueraded), as in migrate_tcp_established.
dk edge-a network create --label "$label" --subnet "$subnet" \
  -o com.docker.network.bridge.enable_ip_masquerade=false part-net >/dev/null
server="(i=0; while true; do i=\$((i+1)); echo \$i >/tmp/count; sleep 0.1; done) &
  while true; do nc -l -p $port -e cat /tmp/count; done"
address_of() { echo "172.31.45.$1"; }
# start_service NAME HOST_BYTE: the service as NAME at 172.31.45.HOST_BYTE on edge-a.
start_service() {
  dk edge-a run -d --name "$1" --label "$label" --network part-net --ip "$(address_of "$2")" "$IMAGE_TINY" \
    sh -c "$server" >/dev/null
  wait_until 20 count_at_least edge-a "$1" 20 || fail "$1: the counter did not start"
}
# probe HOST_BYTE: what a client in the cloud gets from the service (its count), through
# the edge the gateway routes the subnet to.
probe() {
  in_ns cloud python3 -c "import socket; s=socket.create_connection(('$(address_of "$1")', $port), 3,
    ('$CLIENT_ADDR', 0)); print(s.recv(64).decode().strip())"
}
# nc listens again only after each answer: a probe right after another may be refused.
probe_count_above() { local got; got=$(number_of probe "$1") && [ "$got" -gt "$2" ]; }
# route_to_owner SERVICE: the gateway sends clients to the host the record names.
route_to_owner() { "$TESTBED" client-route "$subnet" "$(owner "$1")"; }

# cut_while_paused_at POINT CASE SERVICE HOST_BYTE: the edge link cut with the destination
# paused at POINT, after it holds everything; it swaps (a silent cut is one it cannot see),
# so the record decides for it: the source must not resume, the copy runs at edge-b and
# the client reaches it there; once the link is back one copy is left, on edge-b.
cut_while_paused_at() {
  local point=$1 case=$2 service=$3 byte=$4 cut_at before
  start_service "$service" "$byte"
  pause_handoff_at "$point" "$service"
  cut_link
  cut_at=$SECONDS
  fault_release "$point"
  wait_until 60 running edge-b "$service" || fail "($case): the destination did not start its copy"
  [ "$(owner "$service")" = edge-b ] || fail "($case): the record names '$(owner "$service")', expected edge-b"
  route_to_owner "$service"
  wait_until 20 probe_count_above "$byte" 20 || fail "($case): a client routed to edge-b does not reach the service"
  step "($case) the client reaches the copy on edge-b (count $(number_of probe "$byte")); the source waits, the link cut"
  # Past the link's 10 s of silence: the source must still not have resumed.
  while [ $((SECONDS - cut_at)) -lt 25 ]; do
    ! running edge-a "$service" || fail "($case): the source resumed while the record names edge-b"
    sleep 1
  done
  restore_link
  migrate_ended
  [ "$migrate_status" = 0 ] || [ "$migrate_status" = 3 ] || fail "($case): dockmig migrate exited $migrate_status"
  step "($case) the link is back; dockmig migrate exited $migrate_status"
  if exists edge-a "$service"; then
    ! running edge-a "$service" || fail "($case): the source runs after the link came back"
    in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" "${fleet_args[@]}" \
      || fail "($case): dockmig recover failed"
  fi
  ! exists edge-a "$service" || fail "($case): a copy of $service is left on edge-a"
  running edge-b "$service" || fail "($case): $service stopped running on edge-b"
  [ "$(owner "$service")" = edge-b ] || fail "($case): the record names '$(owner "$service")' at the end"
  before=$(number_of probe "$byte")
  wait_until 10 probe_count_above "$byte" "$before" || fail "($case): the count on edge-b does not go on"
  step "($case) one copy, on edge-b, which the record names; the client's count goes on ($(number_of probe "$byte"))"
  dk edge-b rm -f "$service" >/dev/null
}

step "(p1) the link is cut right after the destination's swap"
cut_while_paused_at destination.after-swap p1 part-p1 11
step "(p0) the link is cut right before the destination's swap, once it holds everything"
cut_while_paused_at destination.before-swap p0 part-p0 10

step "(p2) the link is cut just after the freeze, before the destination holds the checkpoint"
start_b
start_service part-p2 12
"$TESTBED" client-route "$subnet" edge-a   # no record before its first handoff
wait_until 20 probe_count_above 12 20 || fail "(p2): a client routed to edge-a does not reach the service"
migrate_pausing source.before-finalsync cut_link -- edge-a edge-b part-p2 "${fleet_args[@]}"
[ "$migrate_status" != 0 ] && [ "$migrate_status" != 3 ] || fail "(p2): dockmig migrate exited $migrate_status, expected a failure with the source running"
[ "$(field "['rolled_back']")" = True ] || fail "(p2): the report does not say rolled back"
running edge-a part-p2 || fail "(p2): the source was not resumed"
[ "$(owner part-p2)" = edge-a ] || fail "(p2): the record names '$(owner part-p2)', expected edge-a"
# The destination gives the link up after its grace and removes what it made.
wait_until 120 bash -c "! '$TESTBED' docker edge-b inspect part-p2 >/dev/null 2>&1" \
  || fail "(p2): the destination left its container part-p2"
restore_link
route_to_owner part-p2
wait_until 20 probe_count_above 12 20 || fail "(p2): the client does not reach the service on edge-a"
step "(p2) resumed on edge-a (count $(number_of probe 12)), nothing on edge-b, the record names edge-a"

step "(f1) the destination's swap comes after the source resumed by the record"
start_b destination.before-swap=pause
start_counter part-f1
DOCKMIG_FAULTS=source.before-restore=pause migrate_in_background part-f1
fault_wait destination.before-swap || fail "(f1): the destination never reached destination.before-swap"
fault_wait source.before-restore "$migrate_job" || fail "(f1): the source never reached source.before-restore"
kill_paused   # the source's dockmig migrate, as in a crash of its host
migrate_ended
[ "$migrate_status" = 137 ] || fail "(f1): dockmig migrate exited $migrate_status, expected 137 (killed)"
fault_release source.before-restore
cut_link
in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" "${fleet_args[@]}" \
  || fail "(f1): dockmig recover failed"
running edge-a part-f1 || fail "(f1): recover did not resume the source by the record"
[ "$(writes_of part-f1)" = 2 ] || fail "(f1): the record was written $(writes_of part-f1) times, expected 2 (the claim, the fence)"
step "(f1) recover resumed edge-a after fencing the record; now the destination's late swap"
restore_link
late_swap_refused f1 part-f1

step "(e1) etcd is lost while the destination is paused before its swap"
start_counter part-e1
pause_handoff_at destination.before-swap part-e1
stop_etcd
fault_release destination.before-swap
released=$SECONDS
# The swap gets no answer (etcd refuses connections): until the record is read, whether it
# was applied is unknown, so the destination neither removes its container nor starts it.
sleep 2
exists edge-b part-e1 || fail "(e1): the destination removed its container before its swap's outcome was known"
! running edge-b part-e1 || fail "(e1): the destination started its copy though its swap got no answer"
! running edge-a part-e1 || fail "(e1): the source resumed before it could read the record"
start_etcd
back_after=$((SECONDS - released))
migrate_ended
step "(e1) etcd answers again $back_after s after the destination's swap; dockmig migrate exited $migrate_status"
# The bed's etcd takes about 20 s to start again, the destination's patience: either it read
# the record unchanged in time and fenced it, or it could not and the swap stayed in doubt.
if ! grep -q "whether it was applied is unknown" "$errors"; then
  [ "$migrate_status" != 0 ] && [ "$migrate_status" != 3 ] || fail "(e1): dockmig migrate exited $migrate_status, expected a rollback"
  [ "$(writes_of part-e1)" = 2 ] || fail "(e1): the record was written $(writes_of part-e1) times, expected 2 (the claim, the fence)"
  wait_until 30 bash -c "! '$TESTBED' docker edge-b inspect part-e1 >/dev/null 2>&1" \
    || fail "(e1): the destination kept its container though its swap was not applied"
  step "(e1) the record read back in time: fenced (written back as it was), the handoff rolled back"
else
  exists edge-b part-e1 || fail "(e1): the destination removed its container though its swap may have been applied"
  ! running edge-b part-e1 || fail "(e1): the destination started its copy though its swap's outcome is unknown"
  # The source, still asking the destination when etcd came back, resumed by the record
  # (exit 1), or gave up first and stays checkpointed (exit 3) until `dockmig recover`.
  [ "$migrate_status" = 1 ] || [ "$migrate_status" = 3 ] || fail "(e1): dockmig migrate exited $migrate_status"
  # edge-b's agent, started again, follows the record (edge-a): it removes its container.
  start_b
  wait_until 30 bash -c "! '$TESTBED' docker edge-b inspect part-e1 >/dev/null 2>&1" \
    || fail "(e1): edge-b's agent, started again, kept a container the record does not name"
  if [ "$migrate_status" = 3 ]; then
    in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" "${fleet_args[@]}" \
      || fail "(e1): dockmig recover failed"
  fi
  step "(e1) the swap stayed in doubt, its container kept, until edge-b's agent started again and removed it"
fi
running edge-a part-e1 || fail "(e1): the source was not resumed"
[ "$(owner part-e1)" = edge-a ] || fail "(e1): the record names '$(owner part-e1)', expected edge-a"
step "(e1) edge-a runs part-e1, the record names edge-a"

step "(l1) the answer to the destination's swap is lost after etcd applied it"
start_b fleet.swap-answer-lost=drop-link
start_counter part-l1
log_from=$(($(wc -l <"$BED_STATE/agent-edge-b.log") + 1))
migrate edge-a edge-b part-l1 "${fleet_args[@]}"
[ "$migrate_status" = 0 ] || fail "(l1): dockmig migrate exited $migrate_status"
tail -n +"$log_from" "$BED_STATE/agent-edge-b.log" | grep -q "unanswered swap of /dockmig/services/part-l1 was applied" \
  || fail "(l1): edge-b's agent does not say it settled its swap's lost answer by the record"
running edge-b part-l1 || fail "(l1): part-l1 does not run on edge-b"
! exists edge-a part-l1 || fail "(l1): a copy of part-l1 is left on edge-a"
[ "$(owner part-l1)" = edge-b ] || fail "(l1): the record names '$(owner part-l1)', expected edge-b"
count=$(count_of edge-b part-l1)
[ "$count" -gt 20 ] || fail "(l1): the count restarted ($count)"
step "(l1) the lost answer settled by the record: one copy, on edge-b (count $count), the record names it"

step "(e2) etcd is lost while the destination is paused after its swap"
start_counter part-e2
pause_handoff_at destination.after-swap part-e2
stop_etcd
fault_release destination.after-swap
migrate_ended
# The swap was the commit: the destination restores and says so, etcd is not needed.
[ "$migrate_status" = 0 ] || fail "(e2): dockmig migrate exited $migrate_status"
running edge-b part-e2 || fail "(e2): part-e2 does not run on edge-b"
! exists edge-a part-e2 || fail "(e2): the source is left on edge-a"
start_etcd
[ "$(owner part-e2)" = edge-b ] || fail "(e2): the record names '$(owner part-e2)', expected edge-b"
step "(e2) handed off without etcd after the swap: edge-b runs part-e2, the record names it"

step "(e3) etcd is lost after the swap and the destination's agent dies: nobody can tell the source"
start_counter part-e3
pause_handoff_at destination.after-swap part-e3
stop_etcd
kill_paused
fault_release destination.after-swap
migrate_ended
[ "$migrate_status" = 3 ] || fail "(e3): dockmig migrate exited $migrate_status, expected 3 (needs attention)"
grep -q "could not be read" "$errors" || fail "(e3): the error does not say the record could not be read"
! running edge-a part-e3 || fail "(e3): the source resumed without a decision it could prove"
start_etcd
[ "$(owner part-e3)" = edge-b ] || fail "(e3): the record names '$(owner part-e3)', expected edge-b"
# A person's --resume with --etcd fences the record first: it names edge-b, so no resume.
resume_status=0
in_ns edge-a "$DOCKMIG" recover --resume part-e3 --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" \
  "${fleet_args[@]}" >"$report" 2>"$errors" || resume_status=$?
[ "$resume_status" = 3 ] || fail "(e3): recover --resume exited $resume_status, expected 3 (in doubt: the record names edge-b)"
grep -q 'names `edge-b`' "$report" || fail "(e3): recover --resume does not name the record's host: $(cat "$report")"
! running edge-a part-e3 || fail "(e3): recover --resume resumed the source though the record names edge-b"
step "(e3) recover --resume refused: the record names edge-b"
# edge-b's agent, started again, follows the record: it starts its copy from the staged checkpoint.
start_b
wait_until 30 running edge-b part-e3 || fail "(e3): edge-b's agent, started again, did not start its copy"
in_ns edge-a "$DOCKMIG" recover --state-dir "$BED_STATE/agent-edge-a" "${transport_args[@]}" "${fleet_args[@]}" \
  || fail "(e3): dockmig recover failed"
! exists edge-a part-e3 || fail "(e3): recover left the stopped source on edge-a"
count=$(count_of edge-b part-e3)
[ "$count" -gt 20 ] || fail "(e3): the count restarted ($count)"
step "(e3) the source waited; after etcd came back edge-b runs part-e3 (count $count), the record names it"

pass "the record decided each partition and each loss of etcd; one copy ran each time, where the record says"
