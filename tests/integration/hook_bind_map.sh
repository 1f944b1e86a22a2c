# A gateway hands off a container with a bind mount through the API: without
# `options.bind_map` the handoff fails naming the path and the container runs on at
# edge-a; with it, the container mounts the prepared directory of edge-b and its count
# carries on there.
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
pass "the bind mount moved with options.bind_map"
