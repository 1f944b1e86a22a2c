# The agent as a container (Dockerfile, docs/container.md): the image is built (or taken
# from its cache) and loaded into each edge's dockerd; each edge runs `dockmig serve` from
# it with the documented `docker run` flags; a gateway asks edge-a's agent container to
# hand a counter off, and the counter carries on at edge-b from its value.
source "$(dirname "$0")/agent_container_lib.sh"

started=$SECONDS
load_agent_image edge-a edge-b
trap 'status=$?; [ $status = 0 ] || agent_logs edge-a edge-b; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT

mkdir -p "$hook_dir/state-edge-a" "$hook_dir/state-edge-b"
run_agent_container edge-b
run_agent_container edge-a
start_counter edge-a container-web
# Far enough that a counter restarted at edge-b could not reach it in the second it is given.
wait_until 20 count_at_least edge-a container-web 50 || fail "the counter did not reach 50 on edge-a"
before=$(count_of edge-a container-web)

handoff_via_api edge-a container-web "$EDGE_B_ADDR:$hook_link_port"
[ "$(body "['report']['transport']")" = tls ] || fail "the report's transport is $(body "['report']['transport']")"
running edge-a dockmig-agent || fail "the agent container on edge-a stopped"
# Pre-copy read the counter's memory from inside the agent's container (host pid namespace).
precopy_bytes=$(body "['report']['phases']['precopy']['wire_bytes']")
step "precopy: $precopy_bytes bytes on the wire"
[ "$precopy_bytes" -gt 0 ] || fail "pre-copy sent nothing: the agent did not read the container's memory"
carried_on edge-a edge-b container-web "$before"
count=$after

# And back with `dockmig migrate` run in edge-b's agent container (docker exec), as
# docs/container.md says a migration from a host runs.
read -ra tls <<<"$(tls_for edge-b)"
dk edge-b exec dockmig-agent dockmig migrate container-web "$EDGE_A_ADDR:$hook_link_port" --docker "$EDGE_B_DOCKER" \
  --state-dir "$hook_dir/state-edge-b" "${tls[@]}" --json >"$report" 2>"$errors" \
  || { sed 's/^/    stderr: /' "$errors"; fail "dockmig migrate in edge-b's agent container failed"; }
carried_on edge-b edge-a container-web "$count"
back=$after
pass "agents in containers handed the counter off and back, count $count then $back, downtimes $(body "['report']['downtime_seconds']") s and $(field "['downtime_seconds']") s, test $((SECONDS - started)) s"
