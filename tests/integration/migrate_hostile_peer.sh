# A peer that speaks the protocol but sends fields of the wrong type ({"type":1}, a number
# where the migration id belongs, a string where the create body belongs) is answered with
# an Error frame naming the field; the agent stays up and then receives a normal migration
# (issue 12, item 3).
source "$(dirname "$0")/lib.sh"
start_agent edge-b
agent_pid=${agent_pids[-1]}

# send_hostile JSON: sends the hello and one message to edge-b's agent from edge-a, and
# prints the agent's answer (the JSON of its Error frame).
send_hostile() {
  in_ns edge-a python3 - "$EDGE_B_ADDR" "$agent_port" "$1" <<'PY'
import json, socket, struct, sys
host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"DOCKMIG\n" + struct.pack(">H", 1) + bytes([1]) + struct.pack(">I", len(message)) + message)
data = b""
while chunk := s.recv(65536):
    data += chunk
data = data[10:]
kind, length = data[0], struct.unpack(">I", data[1:5])[0]
print(json.dumps({"kind": kind, "body": json.loads(data[5:5 + length])}))
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
migrate edge-a edge-b mig-hostile
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status after the hostile peer"
running edge-b mig-hostile || fail "mig-hostile does not run on edge-b"
sleep 0.5
[ "$(count_of edge-b mig-hostile)" -gt 10 ] || fail "the count restarted"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent is gone"
pass "four hostile messages refused by name, then a migration through the same agent"
