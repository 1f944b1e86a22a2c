# The agent as a container (Dockerfile, docs/container.md): the image is built (or taken
# from its cache) and loaded into each edge's dockerd; each edge runs `dockmig serve` from
# it with the documented `docker run` flags; a gateway asks edge-a's agent container to
# hand a counter off, and the counter carries on at edge-b from its value.
source "$(dirname "$0")/hook_lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)

step "building the agent's image (cached by what it is made from)"
started=$SECONDS
if ! image_tar=$("$repo/tools/container/build-image" --save); then
  if ! curl -sfI --max-time 20 http://deb.debian.org/debian/dists/bookworm/InRelease >/dev/null; then
    echo "SKIP: the agent's image is not cached and deb.debian.org, which its build needs, does not answer" >&2
    exit 77
  fi
  fail "the agent's image did not build (see /var/cache/dockmig/container/build.log)"
fi
step "image $(basename "$image_tar") ready in $((SECONDS - started)) s, $(du -m "$image_tar" | cut -f1) MB as a tarball"
for host in edge-a edge-b; do
  dk "$host" load -q -i "$image_tar" >/dev/null || fail "docker load of the agent's image into $host failed"
done

# The agent's own logs when the test fails, before cleanup removes its container.
agent_logs() {
  for host in edge-a edge-b; do
    echo "--- logs of the agent container on $host:"
    dk "$host" logs --tail 40 dockmig-agent 2>&1 | sed 's/^/    /' || true
  done
}
trap 'status=$?; [ $status = 0 ] || agent_logs; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT

# The agent's privileges: the least that work (docs/container.md). DOCKMIG_AGENT_PRIVILEGES
# replaces them, to try others: the table there was measured so.
read -ra privileges <<<"${DOCKMIG_AGENT_PRIVILEGES:---cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --security-opt systempaths=unconfined}"

# run_agent_container HOST: the documented `docker run` line (docs/container.md) with the
# bed's paths. Every path that dockerd, runc or CRIU also use is mounted where it is on the
# host: /run (HOST's socket and runc's state under its exec root, and the runc.conf lock
# that every dockmig on this machine takes, the bench's too), /dev/shm (serve's
# --memory-dir), HOST's data root, /etc/criu, and the state dir; the certificates read-only.
run_agent_container() {
  local host=$1 addr docker_var root state_dir
  addr=$(addr_of "$host"); docker_var=$(var_of "$host" DOCKER)
  root=$(dk "$host" info -f '{{.DockerRootDir}}')
  state_dir=$hook_dir/state-$host
  read -ra tls <<<"$(tls_for "$host")"
  dk "$host" run -d --name dockmig-agent --label "$label" \
    --pid host --network host "${privileges[@]}" \
    -v /run:/run -v /dev/shm:/dev/shm -v "$root:$root" -v /etc/criu:/etc/criu -v "$state_dir:$state_dir" \
    -v "$hook_dir:$hook_dir:ro" \
    dockmig:latest serve --listen "$addr:$hook_link_port" --api "$addr:$hook_api_port" \
    --docker "${!docker_var}" --state-dir "$state_dir" --tokens "$tokens" "${tls[@]}" >/dev/null \
    || fail "the agent container did not start on $host"
  wait_until 20 in_ns "$host" bash -c "exec 3<>/dev/tcp/$addr/$hook_api_port" \
    || fail "the agent container on $host does not listen on $addr:$hook_api_port"
  step "agent container on $host: $(dk "$host" exec dockmig-agent dockmig --version), $(dk "$host" exec dockmig-agent criu --version | head -n1)"
}

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
