# The destination restores only on the image the source's container runs (issue 12, item
# 5). edge-b holds another image under the container's tag (a tag that moved): the
# migration must not take that copy from its cache, but the registry's, which is the
# source's image, and the count carries on.
source "$(dirname "$0")/lib.sh"
start_agent edge-b
dk edge-a run -d --name mig-identity --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
source_image=$(dk edge-a inspect -f '{{.Image}}' mig-identity)
# The moved tag: the same image with one more layer, committed on edge-b under the tag.
dk edge-b pull -q "$IMAGE_TINY" >/dev/null || fail "cannot pull $IMAGE_TINY on edge-b"
dk edge-b run --name mig-identity-other --label "$label" "$IMAGE_TINY" sh -c 'echo other > /other' >/dev/null
dk edge-b commit mig-identity-other "$IMAGE_TINY" >/dev/null
dk edge-b rm mig-identity-other >/dev/null
moved=$(dk edge-b image inspect -f '{{.Id}}' "$IMAGE_TINY")
[ "$moved" != "$source_image" ] || fail "the test's two images are the same ($moved)"
step "edge-b's $IMAGE_TINY is $moved; the container runs $source_image"
wait_until 10 count_at_least edge-a mig-identity 10 || fail "the counter did not start"

migrate edge-a edge-b mig-identity
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(field "['image_source']")" = registry ] \
  || fail "image_source is $(field "['image_source']"): the moved tag's copy was taken from the cache"
[ "$(dk edge-b inspect -f '{{.Image}}' mig-identity)" = "$source_image" ] \
  || fail "the restored container runs $(dk edge-b inspect -f '{{.Image}}' mig-identity), not $source_image"
running edge-b mig-identity || fail "mig-identity does not run on edge-b"
sleep 0.5
[ "$(count_of edge-b mig-identity)" -gt 10 ] || fail "the count restarted"
pass "a tag that moved at the destination: the source's image came from the registry"
