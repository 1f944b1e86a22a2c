# With the registry down and the image missing at the destination, the source sends the
# image itself (the peer path), and the container runs on edge-b.
source "$(dirname "$0")/lib.sh"
trap '"$TESTBED" registry start >/dev/null 2>&1 || true; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT
start_agent edge-b
dk edge-a run -d --name mig-peer --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
dk edge-b rmi -f "$IMAGE_TINY" >/dev/null 2>&1 || true
"$TESTBED" registry stop
in_ns edge-b curl -sf -m 2 "http://$REGISTRY/v2/" >/dev/null && fail "the registry still answers"
wait_until 10 count_at_least edge-a mig-peer 10 || fail "the counter did not start"
migrate edge-a edge-b mig-peer
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(field "['image_source']")" = peer ] || fail "image_source is $(field "['image_source']"), expected peer"
sent=$(phase_field image wire_bytes)
[ "$sent" -gt 300000 ] || fail "the image phase sent only $sent bytes"
running edge-b mig-peer || fail "mig-peer does not run on edge-b"
sleep 0.5
[ "$(count_of edge-b mig-peer)" -gt 10 ] || fail "the count restarted"
pass "image sent by the source: $sent bytes on the wire"
