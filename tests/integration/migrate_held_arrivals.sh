# Clients that reach the destination during the restore are held, not refused
# (docs/design.md, "Clients that arrive during the restore"):
# - a UDP service publishing a port moves while the destination agent is paused after the
#   source's freeze, before Docker has made the port mapping; a datagram sent to the
#   destination then is held there (the hold rule counts it) and answered by the moved
#   process once it runs: its count goes on from the one it gave before the handoff;
#   the report counts it, and the hold's rule is gone afterwards;
# - a destination agent killed while it holds: the rule it left is removed when it starts
#   again, and the source, told the migration failed, resumes and answers again.
source "$(dirname "$0")/lib.sh"
needs_network "a published port"
need_fault_points
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors" "$answer_file"' EXIT
answer_file=$(mktemp)
port=19090

build_dir=$(mktemp -d)
gcc -O2 -static -o "$build_dir/udp_counter" "$(dirname "$0")/apps/udp_counter.c" || fail "cannot build udp_counter"
printf 'FROM %s\nCOPY udp_counter /udp_counter\n' "$IMAGE_TINY" >"$build_dir/Dockerfile"
DOCKER_BUILDKIT=0 dk edge-a build -q -t dockmig-test/udp-counter:1 --label "$label" "$build_dir" >/dev/null \
  || fail "cannot build the udp_counter image"
rm -rf "$build_dir"

# ask FROM ADDR SECONDS: one datagram from host FROM to ADDR:$port; prints the answer, or
# "none" after SECONDS.
ask() {
  in_ns "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]))
s.sendto(b"count", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recv(64).decode())
except OSError:
    print("none")' "$2" "$port" "$3"
}
# held_on HOST: packets the hold rules on HOST have queued; empty when it has none.
held_on() {
  in_ns "$1" iptables -w 5 -t raw -L DOCKMIG-HOLD -v -n -x 2>/dev/null | awk '/NFQUEUE/ {n += $1; found = 1} END {if (found) print n}'
}
has_hold_rule() { [ -n "$(held_on "$1")" ]; }
held_at_least_one() { [ "$(held_on "$1")" -ge 1 ] 2>/dev/null; }

dk edge-a run -d --name mig-held --label "$label" -p "$port:9000/udp" dockmig-test/udp-counter:1 /udp_counter 9000 >/dev/null
wait_until 10 test "$(ask edge-b "$EDGE_A_ADDR" 1)" != none || fail "udp_counter does not answer on edge-a"
before=$(ask edge-b "$EDGE_A_ADDR" 2)

# ---- a datagram sent after the freeze, before the restore began ----
DOCKMIG_FAULTS=destination.before-finalsync=pause start_agent edge-b
(migrate edge-a edge-b mig-held; echo "$migrate_status" >"$DOCKMIG_FAULT_DIR/migrate-status") &
job=$!
fault_wait destination.before-finalsync "$job" || { wait "$job"; fail "the migration ended before the final sync"; }
has_hold_rule edge-b || fail "edge-b holds nothing for port $port after the freeze"
(ask edge-a "$EDGE_B_ADDR" 60 >"$answer_file") &
asker=$!
wait_until 10 held_at_least_one edge-b || fail "edge-b's hold did not count the datagram sent to it"
step "ok: the datagram sent to edge-b during the handoff is held there ($(held_on edge-b) packet(s))"
fault_release destination.before-finalsync
wait "$job"
[ "$(cat "$DOCKMIG_FAULT_DIR/migrate-status")" = 0 ] || fail "the migration exited $(cat "$DOCKMIG_FAULT_DIR/migrate-status")"
wait "$asker"
answer=$(cat "$answer_file")
[ "$answer" = $((before + 1)) ] || fail "the held datagram got '$answer', not the moved count $((before + 1))"
step "ok: the held datagram was answered by the moved service after the restore ($before, then $answer)"
[ "$(field '["restore"]["held_packets"]')" -ge 1 ] || fail "the report counts no held packet"
has_hold_rule edge-b && fail "edge-b still holds port $port after the restore"
after=$(ask edge-a "$EDGE_B_ADDR" 5)
[ "$after" = $((answer + 1)) ] || fail "edge-b answers '$after' after the handoff, not $((answer + 1))"
stop_agents

# ---- the destination agent killed while it holds: the source resumes, the rule goes ----
DOCKMIG_FAULTS=destination.before-finalsync=pause start_agent edge-a
(migrate edge-b edge-a mig-held; echo "$migrate_status" >"$DOCKMIG_FAULT_DIR/migrate-status") &
job=$!
fault_wait destination.before-finalsync "$job" || { wait "$job"; fail "the way back ended before the final sync"; }
has_hold_rule edge-a || fail "edge-a holds nothing for port $port after the freeze"
kill_paused
has_hold_rule edge-a || fail "the killed agent's rule is gone before its next start"
rm -f "$DOCKMIG_FAULT_DIR/destination.before-finalsync.reached"
start_agent edge-a
has_hold_rule edge-a && fail "the killed agent's rule stayed after its next start"
wait "$job"
[ "$(cat "$DOCKMIG_FAULT_DIR/migrate-status")" != 0 ] || fail "the migration to a killed agent succeeded"
resumed=$(ask edge-a "$EDGE_B_ADDR" 5)
[ "$resumed" = $((after + 1)) ] || fail "the source answers '$resumed' after the failed way back, not $((after + 1))"
step "ok: a killed destination's next start removed its rule, and the source answers again ($resumed)"
pass
