# Peers that trickle their handshake a byte every 5 s (trickle_peers.py), for the tests of
# the agent's handshake deadline (docs/protocol.md, "Hello"). Sourced after lib.sh.
trickle_log=$BED_STATE/trickling-peers-$test_name.json

# start_trickling ADDR PORT COUNT KIND: COUNT peers on edge-a trickle a KIND handshake
# (`hello` or `tls`) to the agent at ADDR:PORT, in the background ($trickle_pid); returns
# once they are all connected.
start_trickling() {
  rm -f "$trickle_log" "$trickle_log.open"
  in_ns edge-a env PYTHONPATH="$(realpath "$(dirname "${BASH_SOURCE[0]}")")" \
    python3 "$(dirname "${BASH_SOURCE[0]}")/trickle_peers.py" "$1" "$2" "$3" "$4" "$trickle_log" &
  trickle_pid=$!
  wait_until 15 test -s "$trickle_log.open" || fail "the trickling peers did not connect"
}

# trickling_dropped SINCE AGENT_LOG DROPS_BEFORE: waits for the trickling peers to end, then
# checks that the agent closed every one of them, none after its whole handshake, and the
# first only after SINCE (seconds since the epoch), and that AGENT_LOG says it dropped
# them (DROPS_BEFORE: how many drops it said before).
trickling_dropped() {
  wait "$trickle_pid" || fail "the trickling peers failed"
  python3 - "$trickle_log" "$1" <<'PY' || fail "the agent did not drop every trickling peer in time"
import json, sys
peers, since = json.load(open(sys.argv[1])), float(sys.argv[2])
held = sorted(p["held"] for p in peers if p["held"] is not None)
print(f"--- trickling peers: {len(held)} of {len(peers)} dropped, held {held[0]:.1f} to {held[-1]:.1f} s; "
      f"at most {max(p['sent'] for p in peers)} of {peers[0]['whole']} bytes sent")
assert len(held) == len(peers), "some trickling peers were never closed"
assert all(p["sent"] < p["whole"] for p in peers), "a trickling peer got its whole handshake in"
assert min(p["closed_at"] for p in peers) > since, "the first trickling peer was dropped before the migration began"
PY
  local dropped
  dropped=$(($(grep -c "dropped the link from" "$2" || true) - $3))
  [ "$dropped" -ge "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$trickle_log")" ] \
    || fail "the agent logged $dropped trickling peers dropped, fewer than there were"
  step "ok: the agent logged $dropped links dropped"
}
