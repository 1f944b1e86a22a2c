# A gateway hands off a container with a bind mount through the API: without
# `options.bind_map` the handoff fails naming the path and the container runs on at
# edge-a; with it, the container mounts the prepared directory of edge-b and its count
# carries on there. With `options.copy_binds` a second container's bind-mounted directory
# is copied into a new directory of edge-b's agent, which it mounts there.
source "$(dirname "$0")/hook_lib.sh"
mkdir -p "$hook_dir/conf-a" "$hook_dir/conf-b"
echo from-edge-a >"$hook_dir/conf-a/conf" && echo prepared-on-edge-b >"$hook_dir/conf-b/conf"
read -ra edge_b_tls <<<"$(tls_for edge-b)"
start_hook_agent edge-b "${edge_b_tls[@]}" --allow-bind "$hook_dir/conf-b"
start_hook_agent edge-a
dk edge-a run -d --name hook-bind --label "$label" -v "$hook_dir/conf-a:/conf:ro" "$IMAGE_TINY" \
  sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a hook-bind 5 || fail "the counter did not start"
destination="$EDGE_B_ADDR:$hook_link_port"

post_json edge-a /v1/handoffs "{\"container\":\"hook-bind\",\"destination\":\"$destination\"}"
expect_status 202 "POST /v1/handoffs without bind_map"
wait_handoff edge-a "$(body "['id']")" 120
[ "$state" = failed ] || fail "the handoff without bind_map ended $state"
grep -qF "$hook_dir/conf-a" "$body_file" || fail "the failure does not name the bind mount's path"
running edge-a hook-bind || fail "hook-bind no longer runs on edge-a"
step "ok: refused without bind_map, naming the path; the container runs on at edge-a"

map="$hook_dir/conf-a=$hook_dir/conf-b"
post_json edge-a /v1/handoffs \
  "{\"container\":\"hook-bind\",\"destination\":\"$destination\",\"options\":{\"bind_map\":[\"$map\"]}}"
expect_status 202 "POST /v1/handoffs with bind_map"
wait_handoff edge-a "$(body "['id']")" 240
[ "$state" = succeeded ] || fail "the handoff with bind_map ended $state: $(body "['reason']")"
running edge-b hook-bind || fail "hook-bind does not run on edge-b"
[ "$(dk edge-b exec hook-bind cat /conf/conf)" = prepared-on-edge-b ] || fail "/conf is not edge-b's directory"
[ "$(count_of edge-b hook-bind)" -gt 5 ] || fail "the count restarted"
step "ok: the bind mount moved with options.bind_map"

copy_src=$(mktemp -d /var/tmp/dockmig-hook-copy.XXXXXX)  # not under /run, which --copy-bind refuses
trap 'stop_agents; cleanup_containers; rm -rf "$copy_src"' EXIT
echo from-edge-a >"$copy_src/note"
dk edge-a run -d --name hook-copy --label "$label" -v "$copy_src:/data" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a hook-copy 5 || fail "the copy container's counter did not start"
post_json edge-a /v1/handoffs \
  "{\"container\":\"hook-copy\",\"destination\":\"$destination\",\"options\":{\"copy_binds\":[\"$copy_src\"]}}"
expect_status 202 "POST /v1/handoffs with copy_binds"
wait_handoff edge-a "$(body "['id']")" 240
[ "$state" = succeeded ] || fail "the handoff with copy_binds ended $state: $(body "['reason']")"
copy=$(dk edge-b inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Source}}{{end}}{{end}}' hook-copy)
case "$copy" in "$hook_dir/state-edge-b/binds/"*) ;; *) fail "/data on edge-b is not edge-b's copy: $copy" ;; esac
[ "$(dk edge-b exec hook-copy cat /data/note)" = from-edge-a ] || fail "the copy on edge-b lacks the source's file"
[ "$(count_of edge-b hook-copy)" -gt 5 ] || fail "the copy container's count restarted"
pass "the bind mounts moved with options.bind_map and options.copy_binds"
