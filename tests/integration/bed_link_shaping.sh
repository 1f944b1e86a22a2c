# The edge link is really shaped: N bytes from edge-a to edge-b take about N*8/rate,
# at 5 and at 20 Mbit/s (generous bounds; label `shaping` to exclude on a noisy machine).
source "$(dirname "$0")/lib.sh"
trap '"$TESTBED" rate 5mbit >/dev/null 2>&1 || true; cleanup_containers' EXIT

# send_seconds BYTES: time to push BYTES over TCP from edge-a to edge-b, acknowledged.
send_seconds() {
  in_ns edge-b python3 -c '
import socket
s = socket.create_server(("'"$EDGE_B_ADDR"'", 9100)); c, _ = s.accept(); n = 0
while (d := c.recv(65536)): n += len(d)
c.sendall(str(n).encode()); c.close()' &
  local server=$!
  sleep 0.5
  in_ns edge-a python3 -c '
import socket, sys, time
n = int(sys.argv[1]); c = socket.create_connection(("'"$EDGE_B_ADDR"'", 9100)); t = time.monotonic()
block = bytes(65536); left = n
while left: k = min(left, len(block)); c.sendall(block[:k]); left -= k
c.shutdown(socket.SHUT_WR); got = int(c.recv(64)); assert got == n, got
print(f"{time.monotonic() - t:.2f}")' "$1"
  wait $server
}

check_rate() {  # check_rate RATE_MBIT BYTES
  local expected seconds
  expected=$(python3 -c "print($2 * 8 / ($1 * 1e6))")
  seconds=$(send_seconds "$2")
  step "$2 bytes at $1 Mbit/s: ${seconds}s (expected about ${expected}s)"
  python3 -c "import sys; sys.exit(0 if $expected * 0.7 <= $seconds <= $expected * 1.6 + 0.5 else 1)" \
    || fail "$2 bytes took ${seconds}s at $1 Mbit/s, expected about ${expected}s"
}

check_rate 5 3000000
"$TESTBED" rate 20mbit
check_rate 20 10000000
pass
