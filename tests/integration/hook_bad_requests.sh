# Malformed, oversized, wrongly typed and slow requests get clear 4xx answers (or are cut
# off), never a crash or a hung agent: after each, the agent still answers, and a client
# that stalls or trickles mid-request does not keep others from being served.
source "$(dirname "$0")/hook_lib.sh"
start_hook_agent edge-a
edge_a_agent=$agent_pid
dest="$EDGE_B_ADDR:$hook_link_port"

still_serving() {
  api edge-a GET /v1/health
  [ "$status" = 200 ] || fail "after $1 the agent no longer answers (HTTP $status)"
  kill -0 "$edge_a_agent" 2>/dev/null || fail "after $1 the agent is gone: $(tail -n5 "$hook_dir/agent-edge-a.log")"
}
bad() {  # bad CODE WHAT BODY [CURL ARGS...]: POSTs BODY as JSON
  local code=$1 what=$2 json=$3; shift 3
  bad_post "$code" "$what" -H 'Content-Type: application/json' -d "$json" "$@"
}
bad_post() {  # bad_post CODE WHAT CURL ARGS...
  local code=$1 what=$2; shift 2
  api edge-a POST /v1/handoffs "$@"
  expect_status "$code" "$what"
  body "['error']['message']" >/dev/null || fail "$what: the answer has no JSON error"
  step "  $(body "['error']['message']")"
  still_serving "$what"
}

bad 400 "malformed JSON" '{"container": "web1", '
bad 400 "JSON that is not an object" '["web1", "10.77.1.2:7171"]'
bad 400 "a missing destination" '{"container":"web1"}'
bad 400 "an unknown field" "{\"container\":\"web1\",\"destination\":\"$dest\",\"sudo\":true}"
bad 400 "a container name with a path" "{\"container\":\"../../etc\",\"destination\":\"$dest\"}"
bad 400 "a container name of 5000 characters" "{\"container\":\"$(printf 'a%.0s' {1..5000})\",\"destination\":\"$dest\"}"
bad 400 "a destination with a shell command" '{"container":"web1","destination":"$(reboot):7070"}'
bad 400 "a port out of range" '{"container":"web1","destination":"10.77.1.2:70000"}'
bad 400 "an option of the wrong type" "{\"container\":\"web1\",\"destination\":\"$dest\",\"options\":{\"zstd_level\":\"max\"}}"
bad 400 "an Idempotency-Key with a space" "{\"container\":\"web1\",\"destination\":\"$dest\"}" -H "Idempotency-Key: a b"
bad 404 "a container that is not here" "{\"container\":\"no-such-container\",\"destination\":\"$dest\"}"
bad_post 415 "a form instead of JSON" -d "{\"container\":\"web1\",\"destination\":\"$dest\"}"
bad 400 "deeply nested JSON" "{\"container\":\"web1\",\"destination\":\"$dest\",\"options\":$(printf '[%.0s' {1..20000})}"

head -c $((1024 * 1024)) /dev/zero | tr '\0' 'x' >"$hook_dir/big"
api edge-a POST /v1/handoffs -H 'Content-Type: application/json' --data-binary "@$hook_dir/big"
[ "$status" = 413 ] || [ "$status" = 000 ] || fail "a 1 MiB body: HTTP $status, expected 413"
step "a 1 MiB body: HTTP $status"
still_serving "a 1 MiB body"
api edge-a GET /v1/handoffs/..%2f..%2fetc%2fpasswd
expect_status 404 "a handoff id with a path"
api edge-a GET /v1/nothing-here
expect_status 404 "an unknown path"
api edge-a DELETE /v1/handoffs
[ "${status:0:1}" = 4 ] || fail "DELETE /v1/handoffs: HTTP $status, expected a 4xx"
step "DELETE /v1/handoffs: HTTP $status"
api edge-a GET /v1/health -H "X-Junk: $(printf 'x%.0s' {1..20000})"
[ "${status:0:1}" = 4 ] || [ "$status" = 000 ] || fail "a 20 KB header: HTTP $status, expected a 4xx"
step "a 20 KB header: HTTP $status"
still_serving "a huge header"

# Raw TLS clients: garbage instead of HTTP, and one that stalls in the middle of its headers.
in_ns edge-a python3 - "$EDGE_A_ADDR" "$hook_api_port" "$certs/ca.pem" <<'PY' || fail "the raw clients saw the agent misbehave"
import socket, ssl, sys, time
addr, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca)
def connect():
    return context.wrap_socket(socket.create_connection((addr, port), timeout=30), server_hostname=addr)
garbage = connect()
garbage.sendall(b"\x00\xff NOT HTTP AT ALL\r\n\r\n")
answer = garbage.recv(200)
assert answer.startswith(b"HTTP/1.1 4"), answer
print("    garbage request line:", answer.split(b"\r\n")[0].decode())
slow = connect()
slow.sendall(b"POST /v1/handoffs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
start = time.time()
other = connect()   # served while the slow one stalls
other.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
assert other.recv(200).startswith(b"HTTP/1.1 200"), "a stalled client kept another from being served"
try:
    while slow.recv(200):
        pass
except (ssl.SSLError, ConnectionError, socket.timeout) as e:
    if isinstance(e, socket.timeout):
        raise SystemExit("the agent kept a stalled client for 30 s")
print(f"    a client stalled mid-headers was cut off after {time.time() - start:.1f} s")
PY
still_serving "the raw clients"

# Clients that trickle: each sends a byte of its headers every 2 s, within the 10 s read
# timeout, for ever. One address holds at most 9 of the 16 threads (its other connections
# are closed at once), a client elsewhere is served meanwhile, and each trickler is cut
# off at the 30 s request deadline.
in_ns edge-a python3 - "$EDGE_A_ADDR" "$hook_api_port" "$certs/ca.pem" >"$hook_dir/trickle.out" 2>&1 <<'PY' &
import socket, ssl, sys, time
addr, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca)
held, refused, start = [], 0, time.time()
for _ in range(12):
    try:
        s = context.wrap_socket(socket.create_connection((addr, port), timeout=5), server_hostname=addr)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        held.append(s)
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
        refused += 1
print(f"    {len(held)} trickling clients held, {refused} refused at once")
cut = {}
while len(cut) < len(held) and time.time() - start < 60:
    time.sleep(2)
    for i, s in enumerate(held):
        if i in cut:
            continue
        try:
            s.sendall(b"a")
            s.settimeout(0.01)
            if s.recv(200) == b"":
                cut[i] = time.time() - start
        except socket.timeout:
            pass
        except (ssl.SSLError, ConnectionError, OSError):
            cut[i] = time.time() - start
assert refused >= 3, f"only {refused} of 12 connections from one address were refused"
assert len(cut) == len(held), f"{len(held) - len(cut)} trickling clients still held after 60 s"
print(f"    every trickling client cut off, the last after {max(cut.values()):.1f} s")
assert max(cut.values()) < 40, "a trickling client was held past the request deadline"
PY
trickle=$!
sleep 6
asked=$SECONDS
health=$(in_ns edge-b curl -sS --max-time 10 --cacert "$certs/ca.pem" -o /dev/null -w '%{http_code}' \
  "https://$EDGE_A_ADDR:$hook_api_port/v1/health") || true
[ "$health" = 200 ] || fail "while clients trickled, another client got HTTP $health"
[ $((SECONDS - asked)) -le 3 ] || fail "while clients trickled, another client waited $((SECONDS - asked)) s"
step "while clients trickled, another host was answered at once"
wait "$trickle" || fail "the trickling clients: $(cat "$hook_dir/trickle.out")"
cat "$hook_dir/trickle.out"
still_serving "the trickling clients"
exists edge-b web1 2>/dev/null && fail "something reached edge-b"
pass "every bad request refused with a 4xx; the agent kept serving"
