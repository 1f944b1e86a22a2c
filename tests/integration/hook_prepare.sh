# POST /v1/prepare warms edge-b ahead of a handoff; the handoff that follows sends fewer
# bytes on the link than the same handoff of an unprepared twin, as both reports say, and
# its report says how much the preparation saved. Each container carries 2 MB of random
# data in its writable layer, which compression cannot shrink.
source "$(dirname "$0")/hook_lib.sh"
start_hook_agent edge-b
start_hook_agent edge-a
service='head -c 2000000 /dev/urandom > /blob; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
for name in hook-cold hook-warm; do
  dk edge-a run -d --name "$name" --label "$label" "$IMAGE_TINY" sh -c "$service" >/dev/null
done
for name in hook-cold hook-warm; do
  wait_until 20 count_at_least edge-a "$name" 5 || fail "$name did not start"
done
dest="$EDGE_B_ADDR:$hook_link_port"

handoff() {  # handoff NAME: hands NAME off through the API; its report's bytes_total in $bytes
  handoff_via_api edge-a "$1" "$dest"
  bytes=$(body "['report']['bytes_total']")
  saved=$(body "['report'].get('prepared_bytes_saved', 0)")
  step "$1: $bytes bytes on the link during the handoff (prepared_bytes_saved $saved)"
}

handoff hook-cold
cold=$bytes

post_json edge-a /v1/prepare "{\"container\":\"hook-warm\",\"destination\":\"$dest\"}" --max-time 300
expect_status 200 "POST /v1/prepare for hook-warm"
step "the preparation sent $(body "['wire_bytes']") bytes (image from $(body "['image_source']"))"
handoff hook-warm
warm=$bytes
[ "$warm" -lt "$cold" ] || fail "the prepared handoff sent $warm bytes, the unprepared one $cold"
[ "$saved" -gt 1000000 ] || fail "the report says the preparation saved $saved bytes"
running edge-b hook-warm || fail "hook-warm does not run on edge-b"
pass "prepared handoff $warm bytes < $cold bytes unprepared"
