# A client outside the container keeps its TCP connection across the handoff with
# `--tcp established` (docs/design.md, "Open TCP connections"), and reconnects without it:
# - a sequence server (lines and connections counted, busybox sh and nc) on a user-defined
#   network with a fixed address; a client in the cloud namespace reaches that address
#   through the edge that runs the container (`testbed client-route`, as a gateway would)
#   and sends the next number on ONE connection every 50 ms;
# - `--tcp established` to edge-b, the route switched to edge-b: the same connection goes
#   on, every number answered in order, the server's count continued, no reconnect;
# - back to edge-a with the default (`--tcp close`): the client sees its connection
#   closed, reconnects, and the server's counts continued (one more connection);
# - refused before the freeze, exit 2: --tcp established for a container on Docker's
#   default bridge network, whose address the destination cannot give it again, and for
#   one whose network at the destination cannot give its address again.
source "$(dirname "$0")/lib.sh"
needs_network "TCP connections kept across the handoff"
subnet=172.31.41.0/24 address=172.31.41.10 port=7000
client_log=$BED_STATE/$test_name.client.log stop_client=$BED_STATE/$test_name.stop-client
client=""
cleanup() {
  touch "$stop_client"
  [ -z "$client" ] || wait "$client" 2>/dev/null || true
  "$TESTBED" client-route "$subnet" none || true
  stop_agents; cleanup_containers; cleanup_networks
  rm -f "$report" "$errors"
}
trap cleanup EXIT
cleanup_networks
rm -f "$client_log" "$stop_client"
start_agent edge-a
start_agent edge-b

# busybox's nc runs one shell per connection: its count of lines is in /tmp/total (the
# writable layer), the outer shell's count of connections in its memory.
server='n=0; while true; do n=$((n + 1)); nc -l -p '$port' -e sh -c "while read l; do
  t=\$((\$(cat /tmp/total 2>/dev/null || echo 0) + 1)); echo \$t >/tmp/total; echo \"\$l \$t $n\"; done"; done'
# A routed network: its containers are reached at their own addresses, not masqueraded.
dk edge-a network create --label "$label" --subnet "$subnet" \
  -o com.docker.network.bridge.enable_ip_masquerade=false tcp-net >/dev/null
dk edge-a run -d --name tcp-seq --label "$label" --network tcp-net --ip "$address" "$IMAGE_TINY" sh -c "$server" >/dev/null
"$TESTBED" client-route "$subnet" edge-a
in_ns cloud python3 "$(dirname "$0")/apps/sequence_client.py" "$CLIENT_ADDR" "$address" "$port" "$client_log" \
  "$stop_client" &
client=$!

# events EVENT: the client's log lines of that kind; acks: how many numbers were answered.
events() { grep -F "\"event\": \"$1\"" "$client_log" || true; }
acks() { events ack | wc -l; }
acks_beyond() { [ "$(acks)" -ge "$1" ]; }
last_ack() { events ack | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# one_connection_throughout: the client's log shows one connection, every number answered
# in order, and the server counting each once on that one connection.
one_connection_throughout() {
  python3 - "$client_log" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
kinds = {e["event"] for e in events}
acks = [e for e in events if e["event"] == "ack"]
assert [e["event"] for e in events].count("connect") == 1 and kinds == {"connect", "ack"}, f"events: {sorted(kinds)}"
assert [a["seq"] for a in acks] == list(range(1, len(acks) + 1)), "a number was skipped or answered twice"
assert [a["total"] for a in acks] == [a["seq"] for a in acks], "the server's count did not follow the sequence"
assert {a["connections"] for a in acks} == {1}, "the server saw another connection"
print(f"--- one connection, {len(acks)} numbers answered in order; longest wait {max(a['wait'] for a in acks)} s")
PY
}
wait_until 20 acks_beyond 20 || fail "the client got no answers through edge-a; see $client_log"
step "ok: the client talks to $address through edge-a"

# ---- --tcp established, the link lost after the freeze: the source resumes the connection ----
# (a fault point drops the link; a dockmig built without them skips this part)
if "$DOCKMIG" --version | grep -q 'with fault points'; then
  before=$(acks)
  DOCKMIG_FAULTS=source.before-finalsync=drop-link migrate edge-a edge-b tcp-seq --tcp established
  [ "$migrate_status" = 1 ] || fail "link dropped: dockmig migrate exited $migrate_status, expected 1"
  [ "$(field "['rolled_back']")" = True ] || fail "link dropped: the report does not say rolled back"
  wait_until 30 acks_beyond $((before + 20)) || fail "link dropped: no answers from the resumed source; see $client_log"
  one_connection_throughout || fail "link dropped: the resumed source did not keep the connection; see $client_log"
  wait_until 30 eval '! exists edge-b tcp-seq' || fail "link dropped: edge-b kept the container it made"
  step "ok: link dropped after the freeze: the source resumed with the client's connection open"
else
  step "skipped: the rollback (this dockmig has no fault points)"
fi

# ---- --tcp established: the same connection goes on at the destination ----
before=$(acks)
migrate edge-a edge-b tcp-seq --tcp established
[ "$migrate_status" = 0 ] || fail "dockmig migrate --tcp established exited $migrate_status"
"$TESTBED" client-route "$subnet" edge-b
running edge-b tcp-seq || fail "tcp-seq does not run on edge-b"
[ "$(dk edge-b inspect -f '{{(index .NetworkSettings.Networks "tcp-net").IPAddress}}' tcp-seq)" = "$address" ] \
  || fail "tcp-seq lost its address $address on edge-b"
wait_until 60 acks_beyond $((before + 40)) || fail "the client got no answers after the handoff; see $client_log"
one_connection_throughout || fail "the connection did not carry on unbroken; see $client_log"
step "ok: --tcp established: one connection from the first number to the last, across the handoff"

# ---- the default, --tcp close: the client reconnects, the server's state continued ----
total_before=$(last_ack total)
migrate edge-b edge-a tcp-seq
[ "$migrate_status" = 0 ] || fail "dockmig migrate (--tcp close) exited $migrate_status"
"$TESTBED" client-route "$subnet" edge-a
running edge-a tcp-seq || fail "tcp-seq does not run on edge-a again"
reconnected() { [ "$(events connect | wc -l)" -ge 2 ] && [ "$(last_ack connections)" = 2 ]; }
wait_until 60 reconnected || fail "the client did not reconnect to the moved server; see $client_log"
events lost | grep -q . || fail "the client never saw its connection closed"
wait_until 20 acks_beyond $(($(acks) + 10)) || fail "the client got no answers after reconnecting"
total_after=$(last_ack total)
[ "$total_after" -gt "$total_before" ] || fail "the server's count went from $total_before to $total_after"
step "ok: --tcp close: the connection was closed, the client reconnected; count $total_before -> $total_after, 2 connections"

# ---- refused: a container on the default bridge network cannot keep its address ----
dk edge-a run -d --name tcp-bridge --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
migrate edge-a edge-b tcp-bridge --tcp established
refused "--tcp established on the default bridge network" tcp-bridge "default bridge network"
# ---- refused at the destination: its network of that name cannot give the address again ----
# (made there with a gateway of its own: Docker then takes no fixed addresses on it)
dk edge-a network create --label "$label" --subnet 172.31.42.0/24 tcp-auto-net >/dev/null
dk edge-a run -d --name tcp-auto --label "$label" --network tcp-auto-net "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
dk edge-b network create --label "$label" --subnet 172.31.42.0/24 --gateway 172.31.42.254 tcp-auto-net >/dev/null
migrate edge-a edge-b tcp-auto --tcp established
refused "--tcp established to a network that cannot keep the address" tcp-auto "on network \`tcp-auto-net\`"
pass "one connection kept across --tcp established; reconnected with --tcp close (count $total_after)"
