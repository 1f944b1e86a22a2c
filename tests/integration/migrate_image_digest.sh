# Images named by digest, and a tag that moved in the registry too (issue 12, item 5).
# 1. A container run from REGISTRY/…@sha256:… migrates with its image pulled from the
#    registry by that digest: no image bytes over the edge link.
# 2. A container run from a tag that has since moved in the registry: a pull by the tag
#    gives another image, so the destination pulls the source's RepoDigest instead and
#    makes the container on exactly the source's image.
# Each case makes images of its own, which edge-b has never seen, so neither comes from
# its cache.
source "$(dirname "$0")/lib.sh"
repository="$REGISTRY/dockmig/digest-$$"
remove_images() {
  local host id
  for host in edge-a edge-b; do
    for id in $(dk "$host" images -q "$repository" 2>/dev/null | sort -u); do
      dk "$host" rmi -f "$id" >/dev/null 2>&1 || true
    done
  done
}
trap 'stop_agents; cleanup_containers; remove_images; rm -f "$report" "$errors"' EXIT

# push_image TAG MARKER: commits $IMAGE_TINY plus a file /marker with MARKER on edge-a as
# $repository:TAG, pushes it, and prints its repo digest (NAME@sha256:…).
push_image() {
  local tag=$1 marker=$2 maker=mig-digest-maker
  dk edge-a run --name "$maker" --label "$label" "$IMAGE_TINY" sh -c "echo $marker > /marker" >/dev/null
  dk edge-a commit "$maker" "$repository:$tag" >/dev/null
  dk edge-a rm "$maker" >/dev/null
  dk edge-a push "$repository:$tag" >/dev/null || fail "cannot push $repository:$tag to $REGISTRY"
  dk edge-a image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$repository:$tag" \
    | grep -m1 "^$repository@sha256:" || fail "$repository:$tag has no repo digest after its push"
}

# migrate_and_check CONTAINER CASE MARKER: migrates CONTAINER to edge-b and checks that its
# image came from the registry, that it runs the source's image there (whose /marker has
# MARKER), and that it counted on.
migrate_and_check() {
  local container=$1 case=$2 marker=$3 source_image restored_image
  source_image=$(dk edge-a inspect -f '{{.Image}}' "$container")
  wait_until 10 count_at_least edge-a "$container" 30 || fail "$case: the counter did not reach 30"
  migrate edge-a edge-b "$container"
  [ "$migrate_status" = 0 ] || fail "$case: dockmig migrate exited $migrate_status"
  [ "$(field "['image_source']")" = registry ] || fail "$case: image_source is $(field "['image_source']"), not registry"
  [ "$(phase_field image wire_bytes)" -lt 10000 ] \
    || fail "$case: the image phase sent $(phase_field image wire_bytes) bytes over the edge link"
  restored_image=$(dk edge-b inspect -f '{{.Image}}' "$container")
  [ "$restored_image" = "$source_image" ] || fail "$case: the restored container runs $restored_image, not $source_image"
  running edge-b "$container" || fail "$case: $container does not run on edge-b"
  sleep 0.5
  [ "$(count_of edge-b "$container")" -ge 30 ] || fail "$case: the count restarted"
  [ "$(dk edge-b exec "$container" cat /marker)" = "$marker" ] \
    || fail "$case: the restored container's /marker has $(dk edge-b exec "$container" cat /marker), not $marker"
}

start_agent edge-b

step "a container run by digest reference"
by_digest=$(push_image one "one-$$")
dk edge-a run -d --name mig-digest --label "$label" "$by_digest" sh -c "$counter_cmd" >/dev/null
[ "$(dk edge-a inspect -f '{{.Config.Image}}' mig-digest)" = "$by_digest" ] || fail "mig-digest is not named by its digest"
migrate_and_check mig-digest "by digest" "one-$$"
[ "$(dk edge-b inspect -f '{{.Config.Image}}' mig-digest)" = "$by_digest" ] \
  || fail "by digest: edge-b's container is named $(dk edge-b inspect -f '{{.Config.Image}}' mig-digest), not $by_digest"

step "a container whose tag then moved in the registry"
first=$(push_image moving "first-$$")
dk edge-a run -d --name mig-moved --label "$label" "$repository:moving" sh -c "$counter_cmd" >/dev/null
second=$(push_image moving "second-$$")
[ "$first" != "$second" ] || fail "the tag did not move ($first)"
step "$repository:moving was ${first#*@}, is ${second#*@} now"
dk edge-b pull -q "$repository:moving" >/dev/null || fail "cannot pull $repository:moving on edge-b"
migrate_and_check mig-moved "moved tag" "first-$$"
[ "$(dk edge-b inspect -f '{{.Config.Image}}' mig-moved)" = "$first" ] \
  || fail "moved tag: edge-b's container is made from $(dk edge-b inspect -f '{{.Config.Image}}' mig-moved), not $first"
pass "by digest and past a moved tag, the source's image came from the registry"
