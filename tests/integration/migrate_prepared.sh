# A prepared handoff (the destination warmed first with the image and the writable layer,
# as POST /v1/prepare does) sends less during the handoff than one that was not: its
# presync carries only what changed since the preparation. Both move a container with
# 6 MB of incompressible data in its writable layer.
source "$(dirname "$0")/lib.sh"
start_agent edge-b
start_agent edge-a
service='head -c 6000000 /dev/urandom > /data.bin; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name mig-warm --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 count_at_least edge-a mig-warm 5 || fail "the service did not start"

migrate edge-a edge-b mig-warm
[ "$migrate_status" = 0 ] || fail "plain handoff: exit $migrate_status"
plain=$(phase_field presync wire_bytes)
step "plain handoff: presync sent $plain bytes, handoff $(field "['handoff_seconds']") s"

migrate edge-b edge-a mig-warm --prepared
[ "$migrate_status" = 0 ] || fail "prepared handoff: exit $migrate_status"
warm=$(phase_field presync wire_bytes)
saved=$(field "['prepared_bytes_saved']")
step "prepared handoff: presync sent $warm bytes, handoff $(field "['handoff_seconds']") s, saved $saved bytes"
[ "$warm" -lt $((plain / 10)) ] || fail "the prepared presync sent $warm bytes, not much less than $plain"
[ "$saved" -gt 5000000 ] || fail "the report says the preparation saved only $saved bytes"
running edge-a mig-warm || fail "mig-warm does not run on edge-a"
[ "$(dk edge-a exec mig-warm wc -c < /dev/null /data.bin | awk '{print $1}')" = 6000000 ] \
  || fail "/data.bin did not survive"
pass
