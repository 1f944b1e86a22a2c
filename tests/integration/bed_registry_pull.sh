# An image committed and pushed from edge-a to the cloud registry is pulled on edge-b and
# has edge-a's file.
source "$(dirname "$0")/lib.sh"
tag="$REGISTRY/dockmig/pushed:$$"
dk edge-a run --name pushed-src --label "$label" "$IMAGE_TINY" sh -c 'echo from-edge-a > /marker' >/dev/null
dk edge-a commit pushed-src "$tag" >/dev/null
dk edge-a push "$tag" >/dev/null || fail "push to $REGISTRY failed"
dk edge-b pull "$tag" >/dev/null || fail "pull from $REGISTRY on edge-b failed"
got=$(dk edge-b run --rm --label "$label" "$tag" cat /marker)
[ "$got" = from-edge-a ] || fail "edge-b's copy has \`$got\`"
dk edge-a rmi "$tag" >/dev/null; dk edge-b rmi "$tag" >/dev/null
pass
