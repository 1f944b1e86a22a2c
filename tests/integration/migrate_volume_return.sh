# A container with a named volume comes back to the host it left (docs/design.md, "Repeat
# handoffs"): edge-a -> edge-b -> edge-a. edge-a kept the volume it left (dockmig never
# deletes data) and recorded it as left by this container, so on the way back it offers
# that copy: it lists and signs its files, and the volume's first pass sends only what
# differs from it (a small file added, one deleted, 64 KiB of a 6 MiB file rewritten as a
# delta). The volume at edge-a is then byte for byte edge-b's at the freeze, the counter in
# it continues, one copy runs. A volume of the same name that no container left there is
# still refused before the freeze, and so is the left one once another container mounts it.
source "$(dirname "$0")/lib.sh"
cleanup_volumes() {
  for host in edge-a edge-b; do
    dk "$host" volume rm -f mig-vret-data mig-vret-other >/dev/null 2>&1 || true
  done
}
trap 'stop_agents; cleanup_containers; cleanup_volumes; rm -f "$report" "$errors"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
"$TESTBED" rate 20mbit >/dev/null
start_agent edge-a
start_agent edge-b

service='if [ ! -e /vol/big ]; then
  mkdir -p /vol/static && for n in 1 2 3; do echo "file $n" > /vol/static/$n; done
  dd if=/dev/urandom of=/vol/big bs=1M count=6 2>/dev/null
  seq 1 200000 >/vol/still
fi
i=$(cat /vol/count 2>/dev/null || echo 0)
while true; do i=$((i+1)); echo $i > /vol/count; sleep 0.1; done'
dk edge-a volume create --label "$label" mig-vret-data >/dev/null
dk edge-a run -d --name mig-vret --label "$label" -v mig-vret-data:/vol "$IMAGE_TINY" sh -c "$service" >/dev/null
vol_count() { number_of dk "$1" exec mig-vret cat /vol/count; }
wait_until 20 eval '[ "$(vol_count edge-a 2>/dev/null || echo 0)" -ge 20 ]' || fail "the counter did not start"
first_pass() { field "['volumes']['passes'][0]['wire_bytes']"; }

step "edge-a -> edge-b: the volume crosses whole"
migrate edge-a edge-b mig-vret
[ "$migrate_status" = 0 ] || fail "edge-a -> edge-b exited $migrate_status"
count_continued "the volume" vol_count edge-b
first=$(first_pass)
[ "$first" -ge $((5 << 20)) ] || fail "the first trip's volume pass sent only $first bytes of a 6 MiB file"
grep -q '"mig-vret-data"' "$BED_STATE/agent-edge-a/left-volumes.json" \
  && grep -q '"container": "mig-vret"' "$BED_STATE/agent-edge-a/left-volumes.json" \
  || fail "edge-a did not record the volume as left by mig-vret: $(cat "$BED_STATE/agent-edge-a/left-volumes.json" 2>&1)"
dk edge-a volume inspect mig-vret-data >/dev/null || fail "edge-a's volume went"
step "ok: $first bytes in the volume's first pass; edge-a keeps the volume, recorded as left by mig-vret"

step "a little changes on edge-b"
dk edge-b exec mig-vret sh -c 'echo new > /vol/static/new && rm /vol/static/2 &&
  dd if=/dev/urandom of=/vol/big bs=64k seek=40 count=1 conv=notrunc 2>/dev/null'

step "a volume of another name's data is still refused before the freeze"
dk edge-a volume create --label "$label" mig-vret-other >/dev/null
dk edge-a run --rm -v mig-vret-other:/vol "$IMAGE_TINY" sh -c 'echo not yours > /vol/file'
dk edge-b volume create --label "$label" mig-vret-other >/dev/null
dk edge-b run -d --name mig-vret-foreign --label "$label" -v mig-vret-other:/vol "$IMAGE_TINY" \
  sh -c 'i=0; while true; do i=$((i+1)); echo $i > /vol/count; sleep 0.1; done' >/dev/null
migrate edge-b edge-a mig-vret-foreign
[ "$migrate_status" = 2 ] || fail "the foreign volume: dockmig migrate exited $migrate_status, expected 2"
grep -qF 'docker volume rm mig-vret-other' "$errors" || fail "the refusal does not give the command"
running edge-b mig-vret-foreign || fail "mig-vret-foreign no longer runs on edge-b"
exists edge-a mig-vret-foreign && fail "a container mig-vret-foreign was left on edge-a"
[ "$(dk edge-a run --rm -v mig-vret-other:/vol "$IMAGE_TINY" cat /vol/file)" = "not yours" ] \
  || fail "edge-a's other volume was touched"
step "ok: refused before the freeze, the volume untouched"

step "the volume left at edge-a, mounted there since by another container, is refused"
dk edge-a create --name mig-vret-user --label "$label" -v mig-vret-data:/vol "$IMAGE_TINY" true >/dev/null \
  || fail "cannot create a container on edge-a that mounts the left volume"
migrate edge-b edge-a mig-vret
[ "$migrate_status" = 2 ] || fail "with mig-vret-user mounting the volume: dockmig migrate exited $migrate_status, expected 2"
grep -qF 'now mounted by container `mig-vret-user`' "$errors" || fail "the refusal does not name the container: $(cat "$errors")"
running edge-b mig-vret || fail "mig-vret no longer runs on edge-b after the refusal"
dk edge-a rm mig-vret-user >/dev/null
step "ok: refused before the freeze, naming mig-vret-user"

step "edge-b -> edge-a: edge-a offers the volume it kept, only what differs crosses"
migrate edge-b edge-a mig-vret
[ "$migrate_status" = 0 ] || fail "edge-b -> edge-a exited $migrate_status"
count_continued "the volume" vol_count edge-a
held=$(field "['volumes']['held_at_destination']")
[ "$held" = "['mig-vret-data']" ] || fail "edge-a did not hold the volume: $held"
second=$(first_pass)
step "the volume's first pass: $first bytes the first trip, $second bytes the way back"
[ $((second * 10)) -lt "$first" ] || fail "the way back's first volume pass sent $second bytes, not under a tenth of $first"
exists edge-b mig-vret && fail "mig-vret is still on edge-b"
running edge-a mig-vret || fail "mig-vret does not run on edge-a"

# edge-b's volume is as the freeze left it (the source's stays): edge-a's must equal it,
# but for the count, which the restored container goes on writing.
tree_sums() { dk "$1" run --rm -v mig-vret-data:/vol "$IMAGE_TINY" sh -c 'cd /vol && find . ! -name count | sort | while read -r p; do if [ -f "$p" ]; then sha256sum "$p"; else echo "$p"; fi; done'; }
at_source=$(tree_sums edge-b) at_destination=$(tree_sums edge-a)
[ -n "$at_source" ] && [ "$at_source" = "$at_destination" ] \
  || fail "the volumes differ: edge-b: $at_source; edge-a: $at_destination"
grep -q '/static/2$' <<<"$at_destination" && fail "the file deleted on edge-b is still at edge-a"
grep -q '"mig-vret-data"' "$BED_STATE/agent-edge-b/left-volumes.json" || fail "edge-b did not record the volume it left"
grep -q '"mig-vret-data"' "$BED_STATE/agent-edge-a/left-volumes.json" && fail "edge-a still records a volume in use there"
pass "the volume's first pass $first bytes out, $second bytes back; the data at edge-a is edge-b's at the freeze"
