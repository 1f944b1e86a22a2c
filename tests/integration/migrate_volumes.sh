# A container's mounts move with it (docs/design.md, "Volumes and bind mounts"):
# - a named volume and an anonymous one: their data is pre-copied, what changed after
#   presync (a file changed, one deleted, one made) crosses after the freeze, the counter
#   the container keeps in the volume continues at the destination, the volumes exist
#   there under their names (with their labels), and the source's volumes stay in place;
# - a tmpfs mount's content travels in CRIU's checkpoint;
# - refused before the freeze, the source running on, exit status 2: a volume another
#   running container mounts, a volume name the destination holds with data, a bind mount
#   without --bind-map, and a --bind-map to a path missing at the destination; then the
#   same bind mount moves with --bind-map to a prepared destination directory;
# - `dockmig inspect` (text and --json) shows each volume with its size, the tmpfs, the
#   mapped bind mount and what happens to each, and the shared volume and the unmapped
#   bind mount as refusals with their reasons, the container running on;
# - a link lost after the freeze: the source resumes with its volumes, the destination
#   removes the volumes it made.
source "$(dirname "$0")/lib.sh"
need_fault_points
work=$BED_STATE/$test_name
rm -rf "$work" && mkdir -p "$work/conf-a" "$work/conf-b"
echo from-edge-a >"$work/conf-a/conf" && echo prepared-on-edge-b >"$work/conf-b/conf"
anonymous=""
cleanup_volumes() {
  for host in edge-a edge-b; do
    local names
    names=$(dk "$host" volume ls -q --filter "label=$label" 2>/dev/null || true)
    dk "$host" volume rm -f $names $anonymous mig-vol-stale >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap 'stop_agents; cleanup_containers; cleanup_volumes; rm -f "$report" "$errors"' EXIT
start_agent edge-b --allow-bind "$work"

vol_count() { number_of dk "$1" exec mig-vol cat /vol/count; }
vol_count_at_least() { [ "$(vol_count "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# ---- volumes and tmpfs ----
dk edge-a volume create --label "$label" --label tier=test mig-vol-data >/dev/null
service='dd if=/dev/urandom of=/vol/blob bs=1M count=4 2>/dev/null
echo before > /vol/before; echo v1 > /vol/changed; echo doomed > /vol/doomed
echo anonymous > /anon/file; echo in-tmpfs > /scratch/file
i=0; while true; do i=$((i+1)); echo $i > /vol/count; sleep 0.1; done'
dk edge-a run -d --name mig-vol --label "$label" -v mig-vol-data:/vol -v /anon \
  --mount type=tmpfs,destination=/scratch "$IMAGE_TINY" sh -c "$service" >/dev/null
anonymous=$(dk edge-a inspect -f '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}' mig-vol)
[ -n "$anonymous" ] || fail "mig-vol has no anonymous volume at /anon"
wait_until 20 vol_count_at_least edge-a 20 || fail "the counter did not start"

dk edge-a run -d --name mig-vol-other --label "$label" -v mig-vol-data:/shared "$IMAGE_TINY" sleep 100000 >/dev/null
inspect_plan edge-a mig-vol
plan_line "the shared volume as a refusal naming who shares it" "cannot move: " "mig-vol-data" "mig-vol-other"
plan_check "not movable, the shared volume in blockers" '
assert not p["movable"] and any("mig-vol-data" in b and "mig-vol-other" in b for b in p["blockers"]), p["blockers"]'
migrate edge-a edge-b mig-vol
refused "a volume another running container mounts" mig-vol "mig-vol-other"
grep -qF mig-vol-data "$errors" || fail "the refusal does not name the volume"
dk edge-a rm -f mig-vol-other >/dev/null
inspect_plan edge-a mig-vol
plan_line "the named volume, its 4 MiB and what happens to it" "volume mig-vol-data at /vol: 4096." "KiB in" \
  "recreated at the destination"
plan_line "the anonymous volume" "volume $anonymous at /anon: "
plan_line "the tmpfs" "tmpfs at /scratch: " "checkpoint"
plan_line "what a migration sends" "a migration sends, before compression: "
plan_line "that it can move" "movable: yes"
plan_check "both volumes with their bytes, the tmpfs, the bytes a migration sends" '
v = {x["name"]: x for x in p["volumes"]}
assert sorted(v) == sorted(["mig-vol-data", a[0]]), v
assert v["mig-vol-data"]["destination"] == "/vol" and v["mig-vol-data"]["bytes"] >= 4 << 20, v
assert v[a[0]]["destination"] == "/anon" and all(x["plan"] for x in v.values()), v
assert [t["target"] for t in p["tmpfs"]] == ["/scratch"], p["tmpfs"]
assert p["movable"] and p["sends_when_destination_has_image"] >= 4 << 20, p' "$anonymous"

dk edge-b volume create --label "$label" mig-vol-data >/dev/null
dk edge-b run --rm -v mig-vol-data:/d "$IMAGE_TINY" sh -c 'echo theirs > /d/theirs'
migrate edge-a edge-b mig-vol
refused "a volume name the destination holds with data" mig-vol "already exists at the destination with data"
[ "$(dk edge-b run --rm -v mig-vol-data:/d "$IMAGE_TINY" cat /d/theirs)" = theirs ] \
  || fail "the destination's own volume was touched"
dk edge-b volume rm mig-vol-data >/dev/null

# A link lost after the freeze: the source resumes with its volumes, and the destination
# removes the container and the volumes it made for it.
before=$(vol_count edge-a)
DOCKMIG_FAULTS=source.before-finalsync=drop-link migrate edge-a edge-b mig-vol
[ "$migrate_status" = 1 ] || fail "link dropped: dockmig migrate exited $migrate_status, expected 1"
[ "$(field "['rolled_back']")" = True ] || fail "link dropped: the report does not say rolled back"
wait_until 10 vol_count_at_least edge-a $((before + 5)) || fail "link dropped: the resumed source does not count in its volume"
wait_until 30 eval '! exists edge-b mig-vol && ! dk edge-b volume inspect mig-vol-data' \
  || fail "link dropped: edge-b kept the container or the volume it made"
dk edge-b volume inspect "$anonymous" >/dev/null 2>&1 && fail "link dropped: edge-b kept the anonymous volume"
step "ok: link dropped after the freeze: the source resumed counting in its volume, edge-b removed what it made"

change_after_presync='dk edge-a exec mig-vol sh -c "echo v2 > /vol/changed; rm /vol/doomed; echo late > /vol/late"'
migrate_pausing source.before-checkpoint "$change_after_presync" -- edge-a edge-b mig-vol
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-vol || fail "mig-vol does not run on edge-b"
count_continued "the volume" vol_count edge-b
in_b() { dk edge-b exec mig-vol sh -c "$2" >/dev/null 2>&1 || fail "$1 (checked with: $2)"; step "ok: $1"; }
in_b "a file written before presync" 'grep -qx before /vol/before'
in_b "a file changed after presync" 'grep -qx v2 /vol/changed'
in_b "a file deleted after presync" '! test -e /vol/doomed'
in_b "a file made after presync" 'grep -qx late /vol/late'
in_b "the anonymous volume's file" 'grep -qx anonymous /anon/file'
in_b "the tmpfs content, from the checkpoint" 'grep -qx in-tmpfs /scratch/file && grep -q " /scratch tmpfs " /proc/mounts'
[ "$(dk edge-b volume inspect -f '{{.Driver}} {{index .Labels "tier"}}' mig-vol-data)" = "local test" ] \
  || fail "mig-vol-data is not on edge-b as a local volume with its labels"
[ "$(dk edge-b inspect -f '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}' mig-vol)" = "$anonymous" ] \
  || fail "the anonymous volume has another name on edge-b"
dk edge-a volume inspect mig-vol-data "$anonymous" >/dev/null || fail "the source's volumes were removed"
step "ok: the volumes run on edge-b under their names; the source's stay in place"
presync=$(phase_field presync wire_bytes) finalsync=$(phase_field finalsync wire_bytes)
[ "$presync" -gt 4000000 ] && [ "$finalsync" -lt 1000000 ] \
  || fail "the volume's 4 MiB did not cross before the freeze (presync $presync, finalsync $finalsync bytes)"
step "ok: the volume crossed before the freeze: presync $presync bytes, finalsync $finalsync bytes"

# ---- bind mounts ----
dk edge-a run -d --name mig-bind --label "$label" -v "$work/conf-a:/conf:ro" "$IMAGE_TINY" \
  sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-bind 10 || fail "the bind container's counter did not start"
inspect_plan edge-a mig-bind
plan_line "the unmapped bind mount as a refusal with what to give" "cannot move: " "$work/conf-a" "--bind-map"
plan_check "not movable, the bind mount in blockers" '
assert not p["movable"] and any(a[0] in b for b in p["blockers"]), p["blockers"]' "$work/conf-a"
inspect_plan edge-a mig-bind --bind-map "$work/conf-a=$work/conf-b"
plan_line "the mapped bind mount and what happens to it" "bind mount $work/conf-a: mounts $work/conf-b of the destination" \
  "nothing copied"
plan_check "the mapped bind mount; movable" '
assert [(b["source"], b["destination"]) for b in p["bind_map"]] == [(a[0], a[1])], p["bind_map"]
assert p["movable"], p["blockers"]' "$work/conf-a" "$work/conf-b"
migrate edge-a edge-b mig-bind
refused "a bind mount without --bind-map" mig-bind "$work/conf-a"
grep -qF -- "--bind-map" "$errors" || fail "the refusal does not name --bind-map"
migrate edge-a edge-b mig-bind --bind-map "$work/conf-a=$work/missing"
refused "a --bind-map to a path the destination lacks" mig-bind "the destination has no \`$work/missing\`"
migrate edge-a edge-b mig-bind --bind-map "$work/conf-a=$work/conf-b"
[ "$migrate_status" = 0 ] || fail "the mapped migration exited $migrate_status"
running edge-b mig-bind || fail "mig-bind does not run on edge-b"
[ "$(dk edge-b exec mig-bind cat /conf/conf)" = prepared-on-edge-b ] || fail "/conf is not edge-b's directory"
[ "$(count_of edge-b mig-bind)" -gt 10 ] || fail "the bind container's count restarted"
step "ok: the bind mount moved with --bind-map; /conf is edge-b's directory"
pass "volume count $after"
