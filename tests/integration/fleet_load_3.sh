# fleet_load's scenario on a three-member etcd (docs/fleet.md, "Scale"): the calls of an
# idle fleet, two handoffs, `fleet where` and `fleet ls`, counted at each member and
# summed; figures in $BED_STATE/fleet-load-3.json. Puts the bed back to one member.
FLEET_LOAD_ETCD_MEMBERS=3 source "$(dirname "$0")/fleet_load.sh"
