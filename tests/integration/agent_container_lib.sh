# Shared by the tests that run the agent as a container (Dockerfile, docs/container.md):
# its image, built or taken from its cache and loaded into edges' dockerds, and the
# documented `docker run` line with the bed's paths. Sources hook_lib.sh (certificates,
# tokens, the API).
source "$(dirname "$0")/hook_lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)

# load_agent_image HOST...: the agent's image, loaded into each HOST's dockerd.
# DOCKMIG_AGENT_IMAGE_TAR names an image saved before instead (an older dockmig's: the
# mixed-version cases). In the CI set the newest image built from the Dockerfile before
# (tools/container/build-image --save, cached) gets this build's dockmig in place of its
# own: seconds, where the Dockerfile compiles dockmig from scratch for 4 to 8 minutes at
# each change to src. With DOCKMIG_LONG_TESTS=1, or with no image built before, the image
# is built from the Dockerfile (cached by what it is made from); the test is skipped when
# it is not cached and cannot be built.
load_agent_image() {
  local started=$SECONDS image_tar=${DOCKMIG_AGENT_IMAGE_TAR:-} host overlay=false
  if [ -n "$image_tar" ]; then
    step "taking the agent's image from DOCKMIG_AGENT_IMAGE_TAR"
  elif [ "${DOCKMIG_LONG_TESTS:-0}" != 1 ] && image_tar=$(newest_agent_image); then
    step "this build's dockmig in the agent's image built before, $(basename "$image_tar") (DOCKMIG_LONG_TESTS=1 builds it from the Dockerfile)"
    overlay=true
  else
    step "building the agent's image from the Dockerfile (cached by what it is made from)"
    build_agent_image
  fi
  step "image $(basename "$image_tar") ready in $((SECONDS - started)) s, $(du -m "$image_tar" | cut -f1) MB as a tarball"
  for host in "$@"; do
    dk "$host" load -q -i "$image_tar" >/dev/null || fail "docker load of the agent's image into $host failed"
    ! $overlay || put_this_dockmig "$host"
  done
}

build_agent_image() {
  image_tar=$("$repo/tools/container/build-image" --save) && return 0
  if ! curl -sfI --max-time 20 http://deb.debian.org/debian/dists/bookworm/InRelease >/dev/null; then
    echo "SKIP: the agent's image is not cached and deb.debian.org, which its build needs, does not answer" >&2
    exit 77
  fi
  fail "the agent's image did not build (see /var/cache/dockmig/container/build.log)"
}

# newest_agent_image: the path of the newest agent image that build-image saved; fails
# when there is none.
newest_agent_image() {
  local newest
  newest=$(ls -t "${DOCKMIG_CACHE:-/var/cache/dockmig}"/container/dockmig-agent-*.tar 2>/dev/null | head -n1)
  [ -s "$newest" ] && echo "$newest"
}

# put_this_dockmig HOST: HOST's dockmig:latest becomes itself with $DOCKMIG (stripped, as
# the Dockerfile installs it) at /usr/local/bin/dockmig. The build is this host's Debian 12,
# the image's too, so it finds the libraries it links.
put_this_dockmig() {
  local host=$1 binary_dir name=dockmig-agent-overlay
  binary_dir=$(mktemp -d)
  strip -o "$binary_dir/dockmig" "$DOCKMIG" || fail "strip $DOCKMIG failed"
  dk "$host" rm -f "$name" >/dev/null 2>&1 || true
  local status=0
  dk "$host" create --name "$name" dockmig:latest >/dev/null \
    && dk "$host" cp "$binary_dir/dockmig" "$name:/usr/local/bin/dockmig" \
    && dk "$host" commit "$name" dockmig:latest >/dev/null || status=$?
  rm -rf "$binary_dir"
  dk "$host" rm -f "$name" >/dev/null 2>&1 || true
  [ "$status" = 0 ] || fail "could not put $DOCKMIG into the agent's image on $host"
  [ "$(dk "$host" run --rm --entrypoint dockmig dockmig:latest --version)" = "$("$DOCKMIG" --version)" ] \
    || fail "the agent's image on $host does not run this build's dockmig (a library it needs is not in the image? DOCKMIG_LONG_TESTS=1 builds it from the Dockerfile)"
}

# agent_logs HOST...: the agent containers' own logs, for when a test fails (before
# cleanup removes them).
agent_logs() {
  local host
  for host in "$@"; do
    echo "--- logs of the agent container on $host:"
    dk "$host" logs --tail 40 dockmig-agent 2>&1 | sed 's/^/    /' || true
  done
}

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
