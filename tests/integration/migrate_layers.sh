# Image layers never cross the edge link: a container of the realistic image (a 200 MB
# Debian base layer and an 8 MB application layer) moves edge-a -> edge-b with the image
# pulled from the registry over the cloud link, then back edge-b -> edge-a with the image
# from edge-a's cache. Asserted from the report and from the edge link's own counters.
source "$(dirname "$0")/lib.sh"
# The cloud link is not what this test measures; a fast one keeps the pull short.
"$TESTBED" rate "$RATE" --cloud-rate 1gbit
trap '"$TESTBED" rate "$RATE" >/dev/null 2>&1 || true; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT
start_agent edge-a
start_agent edge-b
dk edge-a run -d --name mig-app --label "$label" "$IMAGE_APP" >/dev/null
wait_until 20 dk edge-a exec mig-app test -s /var/tmp/count || fail "the app did not start"
dk edge-b rmi -f "$IMAGE_APP" >/dev/null 2>&1 || true

edge_bytes() { "$TESTBED" counters | awk -F= '/^EDGE_A_TO_B_BYTES|^EDGE_B_TO_A_BYTES/ {n += $2} END {print n}'; }
image_bytes=$(dk edge-a image inspect -f '{{.Size}}' "$IMAGE_APP")

hop() {  # hop FROM TO EXPECTED_IMAGE_SOURCE
  local before after
  before=$(edge_bytes)
  migrate "$1" "$2" mig-app
  after=$(edge_bytes)
  [ "$migrate_status" = 0 ] || fail "$1 -> $2: dockmig migrate exited $migrate_status"
  [ "$(field "['image_source']")" = "$3" ] || fail "$1 -> $2: image_source $(field "['image_source']"), expected $3"
  local crossed=$((after - before)) reported
  reported=$(field "['bytes_total']")
  step "$1 -> $2: image from $3; edge link carried $crossed bytes (report: $reported); the image is $image_bytes bytes"
  [ "$crossed" -lt 3000000 ] || fail "$1 -> $2: $crossed bytes crossed the edge link; image layers must not"
  [ "$(phase_field image wire_bytes)" -lt 10000 ] || fail "$1 -> $2: the image phase sent $(phase_field image wire_bytes) bytes"
  running "$2" mig-app || fail "mig-app does not run on $2"
}
hop edge-a edge-b registry
count_b=$(number_of dk edge-b exec mig-app cat /var/tmp/count)
hop edge-b edge-a cache
sleep 0.5
count_a=$(number_of dk edge-a exec mig-app cat /var/tmp/count)
[ "$count_a" -gt "$count_b" ] || fail "the count went from $count_b to $count_a over the round trip"
pass "count $count_b on edge-b, $count_a back on edge-a"
