# Volumes whose data dockmig does not copy (docs/design.md, "Volumes and bind mounts"):
# - refused before the freeze, the source running on, exit status 2, naming the volume: a
#   local volume with driver options that bind a host path (naming the path), a tmpfs one,
#   and a volume of another driver whose name the destination has as a local volume (the
#   plugin below reaches every dockerd of the host, so "not reachable" is unit-tested);
# - a volume of another driver that both edges reach (a legacy volume plugin, global scope,
#   serving one directory to every dockerd of this host: shared storage) is attached at
#   the destination with nothing copied, and the counter the container keeps in it
#   continues there.
source "$(dirname "$0")/lib.sh"
work=$BED_STATE/$test_name
plugin=dockmig-bed${BED_INSTANCE:-0}-shared
socket=/run/docker/plugins/$plugin.sock
plugin_pid=""
stop_plugin() { [ -z "$plugin_pid" ] || kill "$plugin_pid" 2>/dev/null || true; plugin_pid=""; rm -f "$socket"; }
start_plugin() {
  mkdir -p /run/docker/plugins
  python3 "$(dirname "$0")/shared_volume_plugin.py" "$socket" "$work/shared" &
  plugin_pid=$!
  wait_until 10 test -S "$socket" || fail "the volume plugin did not start"
}
cleanup_volumes() {
  for host in edge-a edge-b; do
    dk "$host" volume rm -f mig-drv-bound mig-drv-tmpfs mig-drv-shared mig-drv-taken >/dev/null 2>&1 || true
  done
}
# A dockerd keeps a legacy volume driver it once used, and asks it on every volume list
# after its socket is gone, waiting 15 s each time (every later test's volume calls would):
# only a new dockerd forgets it.
forget_plugin() {
  for host in edge-a edge-b; do "$TESTBED" dockerd "$host" restart >/dev/null 2>&1 || echo "restarting $host's dockerd failed" >&2; done
}
trap 'stop_agents; cleanup_containers; cleanup_volumes; stop_plugin; forget_plugin; rm -rf "$work"; rm -f "$report" "$errors"' EXIT
rm -rf "$work" && mkdir -p "$work/bound" "$work/shared"
start_agent edge-b

# ---- local volumes with driver options that name something on this host ----
dk edge-a volume create -o type=none -o o=bind -o device="$work/bound" mig-drv-bound >/dev/null
dk edge-a volume create -o type=tmpfs -o device=tmpfs -o o=size=8m mig-drv-tmpfs >/dev/null
dk edge-a run -d --name mig-drv-local --label "$label" -v mig-drv-bound:/bound -v mig-drv-tmpfs:/fast \
  "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-drv-local 5 || fail "mig-drv-local's counter did not start"
migrate edge-a edge-b mig-drv-local
refused "a local volume that binds a host path" mig-drv-local "volume \`mig-drv-bound\` bind-mounts the host path \`$work/bound\`"
grep -qF "volume \`mig-drv-tmpfs\` is a tmpfs" "$errors" || fail "the refusal does not name the tmpfs volume"
step "ok: the tmpfs volume is named in the same refusal"
dk edge-b volume inspect mig-drv-bound >/dev/null 2>&1 && fail "edge-b made the bind volume"
dk edge-a rm -f mig-drv-local >/dev/null

# ---- another driver's volume ----
start_plugin
dk edge-a volume create -d "$plugin" mig-drv-taken >/dev/null
dk edge-a volume create -d "$plugin" mig-drv-shared >/dev/null
dk edge-a run -d --name mig-drv-user --label "$label" -v mig-drv-taken:/shared "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
dk edge-b volume create mig-drv-taken >/dev/null  # the name is another volume's at the destination
migrate edge-a edge-b mig-drv-user
refused "a volume of another driver the destination has as a local one" mig-drv-user \
  "volume \`mig-drv-taken\` of the \`$plugin\` driver exists at the destination with the \`local\` driver"
dk edge-a rm -f mig-drv-user >/dev/null

shared_count() { number_of dk "$1" exec mig-drv-counter cat /shared/count; }
dk edge-a run -d --name mig-drv-counter --label "$label" -v mig-drv-shared:/shared "$IMAGE_TINY" \
  sh -c 'i=0; while true; do i=$((i+1)); echo $i > /shared/count; sleep 0.1; done' >/dev/null
wait_until 10 eval '[ "$(shared_count edge-a 2>/dev/null || echo 0)" -ge 25 ]' || fail "mig-drv-counter's counter did not start"
inspect_plan edge-a mig-drv-counter
plan_line "the shared volume and that nothing of it is copied" "volume mig-drv-shared (driver $plugin" "nothing copied"
migrate edge-a edge-b mig-drv-counter
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-drv-counter || fail "mig-drv-counter does not run on edge-b"
[ "$(dk edge-b volume inspect -f '{{.Driver}}' mig-drv-shared)" = "$plugin" ] || fail "edge-b's volume is not of $plugin"
count_continued "the shared volume" shared_count edge-b
# Read until whole: the container rewrites the file ten times a second (truncate, write).
[ "$(number_of cat "$work/shared/mig-drv-shared/count")" -ge "$after" ] || fail "edge-b's container does not count in the plugin's directory"
running edge-a mig-drv-counter && fail "the source's container still runs"
step "ok: edge-b's copy counts on in the same storage; the source's no longer runs"
pass "count in the shared volume $after"
