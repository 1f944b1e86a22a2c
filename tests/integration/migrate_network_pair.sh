# A compose-style pair on a user-defined network (docs/design.md, "Networks and ports"):
# a front end that reaches its redis by the network alias `store`, both moved one after
# the other. redis is Debian's redis-server on the bed's minbase layer (the bench's `ram`
# image, tools/bench/images.sh; its layer is made once and cached, the image built and
# pushed in seconds). The network is made at the destination by the first handoff and
# joined by the second. Checked at the end, on edge-b: the front end reaches redis by name,
# the counter it INCRs there went on from where it was (redis did not restart), a value the
# front end SET before the handoffs reads back the same, and `store` resolves to redis's
# kept address. The front end keeps asking while the pair moves: a connection open at a
# freeze is closed (tcp-close), and the next one is made.
source "$(dirname "$0")/lib.sh"
needs_network "a pair that reaches each other on a user-defined network"
repo=$(cd "$(dirname "$0")/../.." && pwd)
trap 'stop_agents; cleanup_containers; cleanup_networks; rm -f "$report" "$errors"
  "$TESTBED" rate "$RATE" --cloud-rate "$CLOUD_RATE" >/dev/null 2>&1 || true' EXIT
cleanup_networks

step "the redis image (the bench's ram image; its layer is made once from Debian's packages and cached)"
"$TESTBED" rate 1gbit >/dev/null
redis_image=$(bash "$repo/tools/bench/images.sh" image ram "$EDGE_A_DOCKER" "$REGISTRY") \
  || fail "could not build the redis image (tools/bench/images.sh image ram)"
dk edge-b pull -q "$redis_image" >/dev/null || fail "edge-b could not pull $redis_image"
"$TESTBED" rate "$RATE" --cloud-rate "$CLOUD_RATE" >/dev/null
start_agent edge-b

# ask HOST COMMAND...: the front end sends one redis command to `store` (busybox nc; QUIT
# makes redis close the connection once it answered) and prints the answer, \r dropped.
ask() {
  local host=$1; shift
  dk "$host" exec mig-front sh -c "printf '%s\r\nQUIT\r\n' '$*' | nc store 6379 | tr -d '\r'"
}
# The front end: INCRs the counter `hits` in redis five times a second, keeps the last answer.
front='while true; do
  printf "INCR hits\r\nQUIT\r\n" | nc store 6379 2>/dev/null | tr -d "\r" | sed -n "s/^://p" >/tmp/got
  [ -s /tmp/got ] && cp /tmp/got /tmp/fetched; sleep 0.2; done'
fetched() { dk "$1" exec mig-front cat /tmp/fetched 2>/dev/null; }
fetched_after() { local value; value=$(fetched "$1") && [ "$value" -gt "$2" ]; }
hits() { number_of dk "$1" exec mig-store redis-cli GET hits; }

dk edge-a network create --label "$label" mig-pair >/dev/null
dk edge-a run -d --name mig-store --label "$label" --network mig-pair --network-alias store "$redis_image" >/dev/null
dk edge-a run -d --name mig-front --label "$label" --network mig-pair "$IMAGE_TINY" sh -c "$front" >/dev/null
wait_until 30 fetched_after edge-a 10 || fail "the front end does not reach redis on edge-a"
store_ip=$(dk edge-a inspect -f '{{(index .NetworkSettings.Networks "mig-pair").IPAddress}}' mig-store)
note="written-on-edge-a-$RANDOM$RANDOM"
[ "$(ask edge-a SET note "$note")" = "$(printf '+OK\n+OK')" ] || fail "the front end could not SET a value in redis"
before=$(number_of fetched edge-a)
step "the front end counted to $before in redis on edge-a and SET note=$note"

store_before=$(hits edge-a)
migrate edge-a edge-b mig-store
[ "$migrate_status" = 0 ] || fail "moving redis exited $migrate_status"
store_after=$(hits edge-b)
[ "$store_after" -ge "$store_before" ] || fail "redis restarted: its counter was $store_before, now $store_after"
step "ok: redis's counter went on: $store_before on edge-a, $store_after on edge-b"
migrate edge-a edge-b mig-front
[ "$migrate_status" = 0 ] || fail "moving the front end exited $migrate_status"
running edge-b mig-store && running edge-b mig-front || fail "the pair does not run on edge-b"
step "ok: both moved to edge-b, one after the other"

wait_until 20 fetched_after edge-b $((before + 10)) || fail "the front end on edge-b gets no new count from redis"
after=$(number_of fetched edge-b)
step "ok: the front end on edge-b counts $after in redis (it counted $before before the handoffs)"
got=$(ask edge-b GET note)
[ "$got" = "$(printf '$%s\n%s\n+OK' "${#note}" "$note")" ] || fail "note does not read back on edge-b: got \`$got\`"
step "ok: the value SET before the handoffs reads back through the name on edge-b: $note"
dk edge-b exec mig-front nslookup store 127.0.0.11 | grep -qF "$store_ip" \
  || fail "store does not resolve to its address $store_ip on edge-b"
[ "$(dk edge-b inspect -f '{{(index .NetworkSettings.Networks "mig-pair").IPAddress}}' mig-store)" = "$store_ip" ] \
  || fail "redis lost its address $store_ip"
step "ok: the name store resolves on edge-b to redis's kept address $store_ip"
pass "counted $before before, $after after; the note read back"
