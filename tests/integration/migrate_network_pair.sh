# A compose-style pair on a user-defined network (docs/design.md, "Networks and ports"):
# a front end that reaches its store by name, both moved one after the other. The network
# is made at the destination by the first handoff and joined by the second; at the end the
# front end resolves the store by name there, and the count it fetches from the store has
# gone on from where it was before the handoffs, so neither restarted. The front end keeps
# asking while the pair moves: a request open at a freeze is closed (tcp-close), and the
# next one is made.
source "$(dirname "$0")/lib.sh"
trap 'stop_agents; cleanup_containers; cleanup_networks; rm -f "$report" "$errors"' EXIT
cleanup_networks
start_agent edge-b

# The store: a counter served over HTTP on port 8080, like a cache a front end asks.
store='mkdir -p /www; httpd -p 8080 -h /www; i=0; while true; do i=$((i+1)); echo $i > /www/count; sleep 0.1; done'
# The front end: asks the store by name five times a second, keeps the last answer.
front='while true; do wget -qO /tmp/got http://store:8080/count 2>/dev/null && cp /tmp/got /tmp/fetched; sleep 0.2; done'
fetched() { dk "$1" exec mig-front cat /tmp/fetched 2>/dev/null; }
fetched_after() { local value; value=$(fetched "$1") && [ "$value" -gt "$2" ]; }

dk edge-a network create --label "$label" mig-pair >/dev/null
dk edge-a run -d --name mig-store --label "$label" --network mig-pair --network-alias store "$IMAGE_TINY" sh -c "$store" >/dev/null
dk edge-a run -d --name mig-front --label "$label" --network mig-pair "$IMAGE_TINY" sh -c "$front" >/dev/null
wait_until 20 fetched_after edge-a 10 || fail "the front end does not reach the store on edge-a"
store_ip=$(dk edge-a inspect -f '{{(index .NetworkSettings.Networks "mig-pair").IPAddress}}' mig-store)
before=$(number_of fetched edge-a)
step "the front end fetched $before from the store on edge-a"

store_count() { number_of dk "$1" exec mig-store cat /www/count; }
store_before=$(store_count edge-a)
migrate edge-a edge-b mig-store
[ "$migrate_status" = 0 ] || fail "moving the store exited $migrate_status"
store_after=$(store_count edge-b)
[ "$store_after" -ge "$store_before" ] || fail "the store restarted: it counted $store_before, now $store_after"
step "ok: the store's count went on: $store_before on edge-a, $store_after on edge-b"
migrate edge-a edge-b mig-front
[ "$migrate_status" = 0 ] || fail "moving the front end exited $migrate_status"
running edge-b mig-store && running edge-b mig-front || fail "the pair does not run on edge-b"
step "ok: both moved to edge-b, one after the other"

wait_until 20 fetched_after edge-b $((before + 10)) || fail "the front end on edge-b fetches nothing new from the store"
after=$(number_of fetched edge-b)
step "ok: the front end on edge-b fetches $after from the store (it fetched $before before the handoffs)"
dk edge-b exec mig-front nslookup store 127.0.0.11 | grep -qF "$store_ip" \
  || fail "store does not resolve to its address $store_ip on edge-b"
[ "$(dk edge-b inspect -f '{{(index .NetworkSettings.Networks "mig-pair").IPAddress}}' mig-store)" = "$store_ip" ] \
  || fail "the store lost its address $store_ip"
step "ok: the name store resolves on edge-b to the store's kept address $store_ip"
pass "fetched $before before, $after after"
