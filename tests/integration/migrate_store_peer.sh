# Images between the two image stores on the cold peer path (issue 14, item 2): the
# destination has no copy and the registry is stopped, so the source's `docker save`
# crosses the edge link and loads into the other store. A counter moves overlay2 (20.10)
# -> containerd store (26.1+snapshotter) -> overlay2, then once more to the containerd
# store, where the copy it loaded before must be found (its id differs from the source's)
# and nothing cross; on a second bed containerd store (28.5+snapshotter) -> overlay2. On
# each bed a counter made from the image's bare id moves too: its copy loads untagged,
# under the id the destination's store gives it.
# Each time the count carries on, the container at the destination runs the image its
# store names by the container's tag, and that image is the source's: the same config
# digest (the image's identity in both stores, whatever each names it by) and layers. The
# image phase's bytes are counted on the edge link. 20.10 -> 28.5+snapshotter is refused
# before the image phase (migrate_docker28), so 26.1+snapshotter is the overlay2 -> store
# destination here. Beds of its own (docker_pairs_lib.sh), about 2 minutes.
pairs_first_bed=(20.10 26.1+snapshotter)
export PATH=$PATH:/opt/docker-28.5/bin  # containerd's ctr, for the containerd image store
source "$(dirname "$0")/docker_pairs_lib.sh"

is_store() { [[ $(release_of "$1") == *+snapshotter ]]; }

# config_digest HOST IMAGE: the digest of IMAGE's config on HOST. overlay2 names an image
# by it; the containerd store by its manifest's (or index's), whose config it reads here.
config_digest() {
  local host=$1 id
  id=$(dk "$host" image inspect -f '{{.Id}}' "$2") || fail "no image $2 on $host"
  if ! is_store "$host"; then echo "$id"; return 0; fi
  python3 - "$BED_STATE/$host/exec/containerd/containerd.sock" "$id" <<'PY'
import json, subprocess, sys
address, digest = sys.argv[1:]
def content(d):
    out = subprocess.run(["ctr", "--address", address, "--namespace", "moby", "content", "get", d],
                         capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None
blob = content(digest)
for entry in blob.get("manifests", []):  # an index: the manifest of this host's platform held here
    if entry.get("platform", {}).get("architecture") in (None, "amd64") and content(entry["digest"]):
        blob = content(entry["digest"]); break
print(blob["config"]["digest"])
PY
}
layers_of() { dk "$1" image inspect -f '{{json .RootFS.Layers}}' "$2"; }
bytes_a_to_b() { "$TESTBED" counters | sed -n "s/^EDGE_$1_BYTES=//p"; }

# move NAME FROM TO SOURCE: migrates the counter NAME; its image must come from SOURCE
# (peer or cache), the count carry on, and TO run the source's image under the container's tag.
move() {
  local name=$1 from=$2 to=$3 wanted=$4 before link_before link_after image_bytes here
  local link=${from: -1}_TO_${to: -1}
  link=${link^^}
  before=$(count_of "$from" "$name")
  link_before=$(bytes_a_to_b "$link")
  migrate "$from" "$to" "$name"
  link_after=$(bytes_a_to_b "$link")
  [ "$migrate_status" = 0 ] || fail "$(release_of "$from") -> $(release_of "$to"): migrate failed: $(head -c 600 "$errors")"
  running "$to" "$name" || fail "$name does not run on $to"
  wait_until 10 count_at_least "$to" "$name" $((before + 5)) || fail "$name does not count on at $to from $before"
  [ "$(field "['image_source']")" = "$wanted" ] || fail "the image came from the $(field "['image_source']"), not the $wanted"
  image_bytes=$(phase_field image wire_bytes)
  if [ "$wanted" = peer ]; then
    [ "$image_bytes" -gt 100000 ] || fail "the image phase sent $image_bytes bytes: the image did not cross"
    [ $((link_after - link_before)) -ge "$image_bytes" ] || fail "the edge link carried $((link_after - link_before)) bytes, less than the image's $image_bytes"
  else
    [ "$image_bytes" -lt 10000 ] || fail "the image phase sent $image_bytes bytes though $to had the image"
  fi
  here=$(dk "$to" image inspect -f '{{.Id}}' "$IMAGE_TINY") || fail "$to has no $IMAGE_TINY after the migration"
  [ "$(dk "$to" inspect -f '{{.Image}}' "$name")" = "$here" ] || fail "$name on $to runs $(dk "$to" inspect -f '{{.Image}}' "$name"), not $IMAGE_TINY ($here)"
  [ "$(config_digest "$to" "$here")" = "$image_config" ] || fail "$to's $IMAGE_TINY has config $(config_digest "$to" "$here"), the source's is $image_config"
  [ "$(layers_of "$to" "$here")" = "$image_layers" ] || fail "$to's $IMAGE_TINY has other layers than the source's"
  echo "MOVED $(release_of "$from") -> $(release_of "$to"): count $(count_of "$to" "$name") (from $before), image from the $wanted, $image_bytes bytes in the image phase, $((link_after - link_before)) on the edge link, $to names it $here"
}

# move_by_id FROM TO: a counter made from the image's bare id (no tag to load it under)
# moves on the cold peer path; TO runs the untagged copy it loaded, the source's image.
move_by_id() {
  local from=$1 to=$2 id before here
  id=$(dk "$from" image inspect -f '{{.Id}}' "$IMAGE_TINY")
  dk "$from" run -d --name id-counter --label "$label" "$id" sh -c "$counter_cmd" >/dev/null
  wait_until 10 count_at_least "$from" id-counter 20 || fail "the counter made from $id did not start"
  cold "$to"
  before=$(count_of "$from" id-counter)
  migrate "$from" "$to" id-counter
  [ "$migrate_status" = 0 ] || fail "by id $(release_of "$from") -> $(release_of "$to"): migrate failed: $(head -c 600 "$errors")"
  wait_until 10 count_at_least "$to" id-counter $((before + 5)) || fail "id-counter does not count on at $to from $before"
  [ "$(field "['image_source']")" = peer ] || fail "by id: the image came from the $(field "['image_source']")"
  here=$(dk "$to" inspect -f '{{.Image}}' id-counter)
  [ "$(config_digest "$to" "$here")" = "$image_config" ] || fail "by id: $to runs config $(config_digest "$to" "$here"), the source's is $image_config"
  echo "MOVED by id $(release_of "$from") -> $(release_of "$to"): count $(count_of "$to" id-counter) (from $before), $to runs $here, the source $id"
  dk "$to" rm -f id-counter >/dev/null
}

# cold HOST: the registry stopped and HOST without the test image.
cold() {
  "$TESTBED" registry stop >/dev/null
  dk "$1" rmi -f "$IMAGE_TINY" >/dev/null 2>&1 || true
  ! dk "$1" image inspect "$IMAGE_TINY" >/dev/null 2>&1 || fail "$1 still has $IMAGE_TINY"
}

step "edge-a 20.10 (overlay2), edge-b 26.1+snapshotter (containerd store), registry stopped"
start_counter edge-a peer-counter bridge
image_config=$(config_digest edge-a "$IMAGE_TINY") image_layers=$(layers_of edge-a "$IMAGE_TINY")
cold edge-b
move peer-counter edge-a edge-b peer
cold edge-a
move peer-counter edge-b edge-a peer
move peer-counter edge-a edge-b cache
dk edge-b rm -f peer-counter >/dev/null
move_by_id edge-a edge-b

step "edge-a 28.5+snapshotter (containerd store), edge-b 20.10 (overlay2), registry stopped"
next_bed 28.5+snapshotter 20.10
start_counter edge-a peer-counter bridge
image_config=$(config_digest edge-a "$IMAGE_TINY") image_layers=$(layers_of edge-a "$IMAGE_TINY")
cold edge-b
move peer-counter edge-a edge-b peer
dk edge-b rm -f peer-counter >/dev/null
move_by_id edge-a edge-b
pass "the cold peer path loads the source's image into the other store, and finds it there again"
