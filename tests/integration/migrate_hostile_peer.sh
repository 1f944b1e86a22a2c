# A peer that speaks the protocol but sends fields of the wrong type ({"type":1}, a number
# where the migration id belongs, a string where the create body belongs) is answered with
# an Error frame naming the field; the agent stays up and then receives a normal migration
# (issue 12, item 3). Silent connections cannot hold up a migration, nor can peers that
# trickle their hello a byte at a time: the first byte and the hello share one deadline
# from the accept (docs/protocol.md, "Hello"), and a migration that finds every handshake
# place taken waits in the backlog for its turn.
source "$(dirname "$0")/lib.sh"
start_agent edge-b
agent_pid=${agent_pids[-1]}

# send_hostile JSON: sends the hello and one message to edge-b's agent from edge-a, and
# prints the agent's answer (the JSON of its Error frame).
send_hostile() {
  in_ns edge-a env PYTHONPATH="$(realpath "$(dirname "$0")")" python3 - "$EDGE_B_ADDR" "$agent_port" "$1" <<'PY'
import json, socket, sys
import agent_wire
host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection((host, port), timeout=10)
s.sendall(agent_wire.hello() + agent_wire.message(message))
data = b""
while chunk := s.recv(65536):
    data += chunk
kind, body = agent_wire.parse_frame(data[12:])
print(json.dumps({"kind": kind, "body": json.loads(body)}))
PY
}

# expect_refused JSON FIELD: the agent answers JSON with an Error frame that names FIELD.
expect_refused() {
  local answer
  answer=$(send_hostile "$1") || fail "no answer to $1"
  step "$1 -> $answer"
  python3 -c "import json,sys; a=json.loads(sys.argv[1]); assert a['kind']==4, a; \
    assert 'protocol: ' in a['body']['message'] and '\`$2\`' in a['body']['message'], a" "$answer" \
    || fail "the answer to $1 does not name \`$2\` in an Error frame: $answer"
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent died after $1"
}

expect_refused '{"type":1}' type
expect_refused '{"type":"status","migration":12}' migration
expect_refused '{"type":"prepare","migration":"0123456789abcdef","name":"x","image":"busybox","checkpoint":"dockmig-0123456789abcdef","create":"{}"}' create
expect_refused '{"type":"warm","image":["busybox"]}' image
grep -q "session from .* failed: protocol: " "$BED_STATE/agent-edge-b.log" \
  || fail "the agent did not log the refused sessions"

dk edge-a run -d --name mig-hostile --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-hostile 10 || fail "the counter did not start"

# Eight connections that never send a byte, twice the agent's --max-sessions: before, they
# took every session place for the first-byte wait and the migration queued behind them.
# It must now finish while they are all still open, and the agent must close them after
# its first-byte wait.
silent_log=$BED_STATE/silent-peers.log
rm -f "$silent_log"
in_ns edge-a python3 - "$EDGE_B_ADDR" "$agent_port" "$silent_log" <<'PY' &
import select, socket, sys, time
host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
peers = [socket.create_connection((host, port), timeout=5) for _ in range(8)]
open(log, "w").write("open\n")
deadline = time.time() + 60
while time.time() < deadline:
    readable, _, _ = select.select(peers, [], [], 0.2)
    if readable:
        open(log, "a").write("closed by the agent\n")
        break
PY
silent_pid=$!
wait_until 10 grep -q open "$silent_log" || fail "the silent peers did not connect"
step "eight silent connections open; migrating through the same agent"
migrate edge-a edge-b mig-hostile
grep -q closed "$silent_log" && fail "the migration finished only after the agent gave up on the silent peers"
wait_until 20 grep -q closed "$silent_log" || fail "the agent never closed the silent connections"
wait "$silent_pid" 2>/dev/null || true
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status after the hostile peer"
running edge-b mig-hostile || fail "mig-hostile does not run on edge-b"
sleep 0.5
[ "$(count_of edge-b mig-hostile)" -gt 10 ] || fail "the count restarted"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent is gone"
step "ok: a migration past eight silent peers"

# Twenty peers, more than the agent's 16 handshake places, each sending its hello a byte
# every 5 s: 55 s for the 12 bytes, were they let. Before the deadline each read waited
# its own 15 s, so they held every place for a minute, and a migration that came then
# was closed at once.
source "$(dirname "$0")/trickle_lib.sh"
dk edge-a run -d --name mig-trickle --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-trickle 10 || fail "the trickle counter did not start"
drops_before=$(grep -c "dropped the link from" "$BED_STATE/agent-edge-b.log" || true)
start_trickling "$EDGE_B_ADDR" "$agent_port" 20 hello
step "twenty peers trickle their hello; migrating through the same agent"
migration_started=$(date +%s.%N)
migrate edge-a edge-b mig-trickle
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status while peers trickled their hello"
running edge-b mig-trickle || fail "mig-trickle does not run on edge-b"
trickling_dropped "$migration_started" "$BED_STATE/agent-edge-b.log" "$drops_before"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent is gone"
pass "four hostile messages refused by name, then migrations past eight silent and twenty trickling peers"
