# A container on user-defined networks moves with them (docs/design.md, "Networks and
# ports"):
# - on a network with a fixed subnet, with an alias and a fixed IP, and connected to a
#   second network: at the destination both networks exist under their names with the
#   source's subnets, the container keeps both addresses, its aliases resolve from another
#   container there, and its counter continued;
# - a published port is bound again at the destination and serves the moved container;
# - refused before the freeze, the source running on, exit status 2, naming the setting:
#   a network name the destination has with another subnet, a published port a container
#   at the destination holds, one a plain process there listens on, and a network with a
#   driver option dockmig cannot recreate;
# - `dockmig inspect` (text and --json) shows each network with its subnet, address and
#   aliases, each published port, and the refused network with its reason, the container
#   running on;
# - a destination agent killed (fault point) after it made the container's network and
#   volume: the source runs on, and the agent started again removes all it made.
source "$(dirname "$0")/lib.sh"
needs_network "user-defined networks, aliases and fixed addresses"
need_fault_points
listener=""
remove_made_volume() { for host in edge-a edge-b; do dk "$host" volume rm -f mig-vol-made >/dev/null 2>&1 || true; done; }
trap 'stop_agents; cleanup_containers; cleanup_networks; remove_made_volume; touch "$BED_STATE/$test_name.stop-listener"; rm -f "$report" "$errors"' EXIT
cleanup_networks
start_agent edge-b

address_on() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
resolves() {  # resolves HOST NETWORK NAME ADDRESS: from a fresh container on NETWORK
  dk "$1" run --rm --label "$label" --network "$2" "$IMAGE_TINY" nslookup "$3" 127.0.0.11 2>/dev/null | grep -qF "$4"
}

# ---- a network with a fixed subnet, an alias and a fixed IP, and a second network ----
dk edge-a network create --label "$label" --subnet 172.31.7.0/24 mig-net-a >/dev/null
dk edge-a network create --label "$label" mig-net-b >/dev/null
subnet_b=$(dk edge-a network inspect -f '{{(index .IPAM.Config 0).Subnet}}' mig-net-b)
dk edge-a run -d --name mig-net --label "$label" --network mig-net-a --network-alias db --ip 172.31.7.7 \
  "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
dk edge-a network connect --alias db-b mig-net-b mig-net
address_b=$(address_on edge-a mig-net mig-net-b)
wait_until 10 count_at_least edge-a mig-net 10 || fail "the counter did not start"

inspect_plan edge-a mig-net
plan_line "mig-net-a with the fixed address and the alias" "network mig-net-a (bridge, 172.31.7.0/24)" \
  "address 172.31.7.7 (fixed)" "aliases" "db" "joined at the destination"
plan_line "mig-net-b with the address and the alias" "network mig-net-b (bridge, $subnet_b)" "address $address_b" "db-b"
plan_line "that it can move" "movable: yes"
plan_check "both networks with their subnets, addresses and aliases" '
n = {x["name"]: x for x in p["networks"]}
assert sorted(n) == ["mig-net-a", "mig-net-b"], n
assert (n["mig-net-a"]["subnet"], n["mig-net-a"]["ipv4"], n["mig-net-a"]["fixed_ip"]) == ("172.31.7.0/24", "172.31.7.7", True), n
assert (n["mig-net-b"]["subnet"], n["mig-net-b"]["ipv4"]) == (a[0], a[1]), n
assert "db" in n["mig-net-a"]["aliases"] and "db-b" in n["mig-net-b"]["aliases"], n
assert all(x["plan"] for x in n.values()) and p["movable"] and p["blockers"] == [], p' "$subnet_b" "$address_b"

dk edge-b network create --label "$label" --subnet 172.31.8.0/24 mig-net-a >/dev/null
migrate edge-a edge-b mig-net
refused "a network name the destination has with another subnet" mig-net "172.31.8.0/24"
grep -qF mig-net-a "$errors" || fail "the refusal does not name the network"
dk edge-b network rm mig-net-a >/dev/null

before=$(count_of edge-a mig-net)
migrate edge-a edge-b mig-net
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-net || fail "mig-net does not run on edge-b"
sleep 1
after=$(count_of edge-b mig-net)
[ "$after" -gt "$before" ] || fail "the counter did not continue ($before before, $after on edge-b)"
step "ok: the counter continued: $before before the handoff, $after on edge-b"
[ "$(dk edge-b network inspect -f '{{(index .IPAM.Config 0).Subnet}}' mig-net-a)" = 172.31.7.0/24 ] \
  || fail "mig-net-a is not on edge-b with subnet 172.31.7.0/24"
[ "$(dk edge-b network inspect -f '{{(index .IPAM.Config 0).Subnet}}' mig-net-b)" = "$subnet_b" ] \
  || fail "mig-net-b is not on edge-b with subnet $subnet_b"
[ "$(address_on edge-b mig-net mig-net-a)" = 172.31.7.7 ] || fail "mig-net lost its fixed address on mig-net-a"
[ "$(address_on edge-b mig-net mig-net-b)" = "$address_b" ] || fail "mig-net lost its address $address_b on mig-net-b"
step "ok: both networks on edge-b with their subnets; addresses 172.31.7.7 and $address_b kept"
resolves edge-b mig-net-a db 172.31.7.7 || fail "the alias db does not resolve on edge-b's mig-net-a"
resolves edge-b mig-net-b db-b "$address_b" || fail "the alias db-b does not resolve on edge-b's mig-net-b"
resolves edge-b mig-net-a mig-net 172.31.7.7 || fail "the name mig-net does not resolve on edge-b's mig-net-a"
step "ok: the aliases and the name resolve from another container on edge-b"

# ---- published ports ----
service='mkdir -p /www; httpd -p 80 -h /www; i=0; while true; do i=$((i+1)); echo $i > /www/count; echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name mig-port --label "$label" -p 18080:80 "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 10 count_at_least edge-a mig-port 10 || fail "the port container did not start"
inspect_plan edge-a mig-port
plan_line "the published port" "port " "18080/tcp -> 80/tcp" "published again at the destination"
plan_check "the published port" '
[port] = p["ports"]
assert (port["host_port"], port["container_port"], port["protocol"]) == (18080, "80", "tcp") and port["plan"], port'
dk edge-b run -d --name mig-port-holder --label "$label" -p 18080:80 "$IMAGE_TINY" sleep 100000 >/dev/null
migrate edge-a edge-b mig-port
refused "a published port a container at the destination holds" mig-port "18080/tcp"
grep -qF mig-port-holder "$errors" || fail "the refusal does not name the container holding the port"
dk edge-b rm -f mig-port-holder >/dev/null
stop_listener=$BED_STATE/$test_name.stop-listener
rm -f "$stop_listener"
in_ns edge-b python3 -c 'import os,socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 18080)); s.listen()
while not os.path.exists(sys.argv[1]): time.sleep(0.1)' "$stop_listener" >/dev/null 2>&1 &
listener=$!
wait_until 10 in_ns edge-b bash -c 'exec 3<>/dev/tcp/127.0.0.1/18080' || fail "the plain listener did not start"
migrate edge-a edge-b mig-port
refused "a published port a plain process at the destination listens on" mig-port "18080/tcp"
touch "$stop_listener"; wait $listener 2>/dev/null || true; listener=""
migrate edge-a edge-b mig-port
[ "$migrate_status" = 0 ] || fail "the port migration exited $migrate_status"
served=$(number_of in_ns edge-b wget -qO- http://127.0.0.1:18080/count)
[ "$served" -gt 10 ] || fail "edge-b's port 18080 serves count $served, not the moved counter"
step "ok: port 18080 is published again on edge-b and serves the count ($served)"

# ---- a network dockmig cannot recreate: shown refused by inspect, refused by migrate ----
dk edge-a network create --label "$label" -o com.docker.network.bridge.name=mig-odd0 mig-net-odd >/dev/null
dk edge-a run -d --name mig-odd --label "$label" --network mig-net-odd "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-odd 10 || fail "the counter of mig-odd did not start"
inspect_plan edge-a mig-odd
plan_line "the network it cannot recreate as a refusal with its reason" "cannot move: " "mig-net-odd" \
  "com.docker.network.bridge.name"
plan_check "not movable, the reason in blockers" '
assert not p["movable"] and any("mig-net-odd" in b and "bridge.name" in b for b in p["blockers"]), p["blockers"]'
odd_count=$(count_of edge-a mig-odd)
wait_until 5 count_at_least edge-a mig-odd $((odd_count + 3)) || fail "mig-odd stopped counting after dockmig inspect"
migrate edge-a edge-b mig-odd
refused "a network with a driver option dockmig cannot recreate" mig-odd "com.docker.network.bridge.name"
dk edge-a rm -f mig-odd >/dev/null

# ---- a destination agent killed once it made the network and the volume ----
step "the destination agent killed after it made a network and a volume: its restart removes them"
dk edge-a network create --label "$label" --subnet 172.31.9.0/24 mig-net-made >/dev/null
dk edge-a run -d --name mig-made --label "$label" --network mig-net-made -v mig-vol-made:/data \
  "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-made 10 || fail "the counter of mig-made did not start"
stop_agents
DOCKMIG_FAULTS=destination.before-presync=crash start_agent edge-b
migrate edge-a edge-b mig-made
[ "$migrate_status" = 1 ] || fail "the migration to a destination that died exited $migrate_status, expected 1"
running edge-a mig-made || fail "the source does not run on after the destination died"
dk edge-b network inspect mig-net-made >/dev/null 2>&1 || fail "the destination had not made the network before it died"
stop_agents
start_agent edge-b
# The agent removes them at its start, the network before the volume: wait for each.
gone() { ! dk edge-b "$1" inspect "$2" >/dev/null 2>&1; }
wait_until 15 gone network mig-net-made || fail "the restarted agent left the network mig-net-made that the killed one made"
wait_until 15 gone volume mig-vol-made || fail "the restarted agent left the volume mig-vol-made"
! dk edge-b inspect mig-made >/dev/null 2>&1 || fail "the restarted agent left the container mig-made"
dk edge-a rm -f mig-made >/dev/null
remove_made_volume
step "ok: the restarted agent removed the container, the network and the volume made for it"
pass "count $after after the handoff; port served $served; what a killed destination made was removed"
