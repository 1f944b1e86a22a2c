# The destination decides what it creates (issue 12, item 4): a peer that asks for a
# privileged container, or a bind of the host's root, is refused at prepare with an Error
# frame naming the setting and the serve option that opens it; nothing is created there,
# and the agent then receives a normal migration. `--allow privileged` lets the same
# privileged body through to dockerd.
source "$(dirname "$0")/lib.sh"

# send_prepare NAME ID HOSTCONFIG: a prepare for NAME from edge-a to edge-b's agent, whose
# create body has HOSTCONFIG; prints each frame the agent answers (kind and JSON body),
# until an Error frame, its `created` message, or the end.
# It names the source's Docker release, as a real source does; on a bed whose edges run
# Docker 27+ (DOCKMIG_TEST_NETWORKLESS) its container is networkless, as a real source's
# would be there: such a destination refuses any other before its policy is asked.
send_prepare() {
  local prepare network=''
  [ "$networkless" = 0 ] || network='"NetworkDisabled":true,'
  prepare=$(printf '{"type":"prepare","migration":"%s","name":"%s","image":"%s","checkpoint":"dockmig-%s","docker_version":"%s","create":{%s"Image":"%s","Cmd":["sleep","60"],"Labels":{"dockmig.test":"%s"},"HostConfig":%s}}' \
    "$2" "$1" "$IMAGE_TINY" "$2" "$EDGE_A_DOCKER_VERSION" "$network" "$IMAGE_TINY" "$test_name" "$3")
  in_ns edge-a env PYTHONPATH="$(realpath "$(dirname "$0")")" python3 - "$EDGE_B_ADDR" "$agent_port" "$prepare" <<'PY'
import json, socket, sys
import agent_wire
host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection((host, port), timeout=60)
s.sendall(agent_wire.hello() + agent_wire.message(message))
def read(n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data
try:
    agent_wire.read_hello(read)
    while True:
        kind, payload = agent_wire.read_frame(read)
        body = json.loads(payload)
        print(json.dumps({"kind": kind, "body": body}), flush=True)
        if kind == 4 or body.get("type") == "created":
            break
except EOFError:
    pass
PY
}

start_agent edge-b
agent_pid=${agent_pids[-1]}
dk edge-b image inspect "$IMAGE_TINY" >/dev/null 2>&1 || dk edge-b pull -q "$IMAGE_TINY" >/dev/null

# expect_policy_refusal NAME ID HOSTCONFIG SETTING OPTION
expect_policy_refusal() {
  local answer
  answer=$(send_prepare "$1" "$2" "$3") || fail "no answer to the prepare of $1"
  step "$3 -> $answer"
  python3 -c "import json,sys; a=json.loads(sys.argv[1].splitlines()[-1]); assert a['kind']==4, a; \
    m=a['body']['message']; assert sys.argv[2] in m and sys.argv[3] in m, m; \
    assert a['body']['code']=='invalid input', a" "$answer" "\`$4\`" "$5" \
    || fail "the answer to $3 does not refuse \`$4\` naming $5: $answer"
  [ -z "$(dk edge-b ps -aq --filter "name=^$1\$")" ] || fail "edge-b made $1 although its policy refused it"
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent died after refusing $1"
}

expect_policy_refusal policy-priv 00000000000000a1 '{"Privileged":true}' HostConfig.Privileged "--allow privileged"
expect_policy_refusal policy-root 00000000000000a2 '{"Binds":["/:/host"]}' HostConfig.Binds "--allow-bind /"
expect_policy_refusal policy-caps 00000000000000a3 '{"CapAdd":["SYS_ADMIN"],"NetworkMode":"host"}' \
  HostConfig.CapAdd "--allow cap:SYS_ADMIN"
grep -q "session from .* failed: the destination's policy refuses" "$BED_STATE/agent-edge-b.log" \
  || fail "the agent did not log the refusals"

dk edge-a run -d --name mig-policy --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-policy 10 || fail "the counter did not start"
migrate edge-a edge-b mig-policy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status after the refusals"
running edge-b mig-policy || fail "mig-policy does not run on edge-b"
stop_agents

step "the same privileged body to an agent started with --allow privileged"
start_agent edge-b --allow privileged
answer=$(send_prepare policy-open 00000000000000a4 '{"Privileged":true}')
step "-> $answer"
grep -q '"type": "created"' <<<"$answer" || fail "--allow privileged did not let the create through: $answer"
wait_until 20 bash -c "[ -z \"\$($TESTBED docker edge-b ps -aq --filter name=^policy-open\$)\" ]" \
  || fail "the agent did not remove policy-open after its source went away"
pass "privileged, host-root bind and extra capabilities refused by name at prepare; a migration after; --allow privileged opens"
