# The containerd image store (Docker 28.5 with features.containerd-snapshotter) on the
# bed's edges, on beds of its own (docker_pairs_lib.sh): `dockmig doctor` names each
# host's store; a networkless counter with a file of its own and a deleted image file in
# its writable layer moves from the snapshotter to overlay2, back, and between two
# snapshotter hosts, counting on each time, its layer intact, and its image never sent
# (the destination's store or the registry has it, though the two stores give the image
# different ids). Networked containers are refused on Docker 28.5 destinations whatever
# the store (migrate_docker28).
pairs_first_bed=(28.5+snapshotter 28.5)
# dockmig finds a container's writable layer in containerd's snapshot through containerd's
# ctr: the bed's comes with its Docker 28.5.
export PATH=$PATH:/opt/docker-28.5/bin
source "$(dirname "$0")/docker_pairs_lib.sh"

# doctor_names HOST TEXT: `dockmig doctor` on HOST says its image store is TEXT.
doctor_names() {
  local var out
  var=$(echo "${1^^}_DOCKER" | tr - _)
  out=$(in_ns "$1" "$DOCKMIG" doctor --docker "${!var}" 2>&1 || true)
  grep -E "image store" <<<"$out" | grep -qF -- "$2" || fail "doctor on $1 does not name \`$2\`: $(grep -i store <<<"$out")"
}

# move NAME FROM TO: migrates the counter NAME; it must count on at TO, keep its
# writable layer (a file written, an image file deleted), and take its image from TO's
# store or the registry, never from the source.
move() {
  local name=$1 from=$2 to=$3 before source
  before=$(count_of "$from" "$name")
  migrate "$from" "$to" "$name"
  [ "$migrate_status" = 0 ] || fail "$(release_of "$from") -> $(release_of "$to"): migrate failed: $(head -c 600 "$errors")"
  running "$to" "$name" || fail "$name does not run on $to after the migration"
  exists "$from" "$name" && fail "$name is still on $from after the migration"
  wait_until 10 count_at_least "$to" "$name" $((before + 5)) || fail "$name does not count on at $to from $before"
  [ "$(dk "$to" exec "$name" cat /layer-file)" = kept ] || fail "the file written in the writable layer is not on $to"
  dk "$to" exec "$name" test ! -e /bin/yes || fail "an image file deleted in the writable layer is back on $to"
  source=$(field "['image_source']")
  [[ $source == cache || $source == registry ]] || fail "$(release_of "$from") -> $(release_of "$to"): the image came from the $source"
  echo "MOVED $(release_of "$from") -> $(release_of "$to"): count $(count_of "$to" "$name") (from $before), image from the $source, downtime $(field "['downtime_seconds']") s"
}

# with_layer HOST NAME: the networkless counter, with a file of its own and an image file deleted.
with_layer() {
  start_counter "$1" "$2" networkless
  dk "$1" exec "$2" sh -c 'echo kept > /layer-file && rm /bin/yes' || fail "cannot change the layer of $2"
}

step "doctor names each host's image store"
doctor_names edge-a "containerd image store (overlayfs snapshotter)"
doctor_names edge-b "overlay2 graph driver"

step "edge-a 28.5+snapshotter, edge-b 28.5 (overlay2): one counter there and back"
with_layer edge-a store-counter
move store-counter edge-a edge-b
move store-counter edge-b edge-a
dk edge-a rm -f store-counter >/dev/null

step "edge-a and edge-b 28.5+snapshotter"
next_bed 28.5+snapshotter 28.5+snapshotter
with_layer edge-a store-counter
move store-counter edge-a edge-b
pass "the containerd image store is a source and a destination, to and from overlay2 too"
