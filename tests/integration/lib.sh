# Shared by the integration tests: the bed's variables, the docker CLI per host, checks
# that fail with a message, and cleanup of what a test started even when it fails.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: integration tests need root (network namespaces, dockerd, CRIU)" >&2
  exit 77
fi
: "${TESTBED:?TESTBED must point to tools/testbed/testbed (ctest sets it)}"
eval "$("$TESTBED" env)"
export DOCKMIG_CRIU=$CRIU   # the page server at the freeze: the CRIU the bed's dockerd runs
test_name=$(basename "$0" .sh)

dk() {
  local host=$1; shift
  if [ "$networkless" = 1 ] && [ "${1:-}" = run ]; then run_networkless "$host" "${@:2}"; return; fi
  "$TESTBED" docker "$host" "$@"
}
in_ns() { local host=$1; shift; "$TESTBED" exec "$host" "$@"; }
# Each line says how many seconds into the test it was written: where a slow test spends
# its time shows in CI's output.
# A failure also says how full the machine was: a full disk fails every later test too.
fail() {
  echo "FAIL: [${SECONDS}s] $test_name: $*" >&2
  echo "      ($(df -h --output=avail / | tail -1 | tr -d ' ') free on /, $(free -h | awk '/^Mem/ {print $7}') of memory available)" >&2
  exit 1
}
pass() { echo "PASS: [${SECONDS}s] $test_name${1:+: $1}"; }
step() { echo "--- [${SECONDS}s] $*"; }

# ---- networkless containers (edges of Docker 27 and newer) --------------------------------
# DOCKMIG_TEST_NETWORKLESS=1 (tests/integration/docker28_suite.sh sets it on a bed of Docker
# 28.5 edges): every `dk HOST run -d` creates its container with NetworkDisabled, the only
# kind Docker 27+ restores from a checkpoint (docs/design.md, "Docker releases"). The docker
# CLI has no flag for it, and `--network none` still gives the container a namespace of its
# own, which 28.5 cannot restore. So the CLI makes the container from the test's arguments,
# and it is made again through the Engine API from what inspect says, with NetworkDisabled.
# A `run` without -d (a one-off command) is left as it is, and so is one on the host's
# network (`--network host`: no namespace of its own; the agent's container is one), which
# NetworkDisabled would instead give an empty namespace of its own.
networkless=${DOCKMIG_TEST_NETWORKLESS:-0}
# needs_network WHY: skips the test on such a bed, with WHY.
needs_network() {
  [ "$networkless" = 1 ] || return 0
  echo "SKIP: $test_name needs a container network ($*); DOCKMIG_TEST_NETWORKLESS=1 makes networkless ones" >&2
  exit 77
}
# split_run_args ARGS...: `docker run`'s arguments into run_opts (its options without -d),
# run_rest (the image and command) and run_detached (1 when -d was given).
split_run_args() {
  run_opts=() run_rest=() run_detached=0
  while [ $# -gt 0 ]; do
    case $1 in
      --) shift; break ;;
      -d | --detach) run_detached=1 ;;
      --*=* | --rm | --init | --privileged | --read-only | --publish-all | --no-healthcheck | \
        --oom-kill-disable | --sig-proxy | --disable-content-trust | --interactive | --tty | --quiet)
        run_opts+=("$1") ;;
      --*) run_opts+=("$1" "$2"); shift ;;
      -*)
        if [[ $1 =~ ^-[ditPq]+$ ]]; then  # boolean short flags, alone or together (-dit)
          [[ $1 != *d* ]] || run_detached=1
          [ "${1//d/}" = - ] || run_opts+=("${1//d/}")
        elif [ ${#1} = 2 ]; then run_opts+=("$1" "$2"); shift
        else run_opts+=("$1"); fi ;;  # a short option with its value attached
      *) break ;;
    esac
    shift
  done
  run_rest=("$@")
}
# on_host_network RUN_OPTS...: the options name the host's network.
on_host_network() {
  while [ $# -gt 0 ]; do
    case $1 in
      --network=host | --net=host) return 0 ;;
      --network | --net) [ "${2:-}" != host ] || return 0 ;;
    esac
    shift
  done
  return 1
}
# run_networkless HOST ARGS...: `docker run ARGS` on HOST, the container made networkless
# when ARGS has -d; prints its id as `docker run -d` does.
run_networkless() {
  local host=$1 id body name socket_var; shift
  split_run_args "$@"
  if [ "$run_detached" = 0 ] || on_host_network "${run_opts[@]}"; then "$TESTBED" docker "$host" run "$@"; return; fi
  id=$("$TESTBED" docker "$host" create "${run_opts[@]}" "${run_rest[@]}") || return 1
  body=$("$TESTBED" docker "$host" inspect "$id" | python3 -c 'import json, sys
c = json.load(sys.stdin)[0]
print(json.dumps(dict(c["Config"], NetworkDisabled=True, HostConfig=c["HostConfig"])))')
  name=$("$TESTBED" docker "$host" inspect -f '{{.Name}}' "$id")
  "$TESTBED" docker "$host" rm -v "$id" >/dev/null
  socket_var=$(echo "${host^^}_DOCKER" | tr - _)
  id=$(curl -sS --fail-with-body --unix-socket "${!socket_var#unix://}" -H 'Content-Type: application/json' \
    -d "$body" "http://docker/v1.41/containers/create?name=${name#/}") || { echo "$id" >&2; return 1; }
  id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["Id"])' "$id")
  "$TESTBED" docker "$host" start "$id" >/dev/null && echo "$id"
}

# Containers a test makes carry this label, so cleanup finds them on both hosts.
label="dockmig.test=$test_name"
cleanup_containers() {
  for host in edge-a edge-b; do
    local ids
    ids=$(dk "$host" ps -aq --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || dk "$host" rm -f $ids >/dev/null 2>&1 || true
  done
}
trap cleanup_containers EXIT
cleanup_containers

# A counter's write of its count $i: to /tmp/count, and again to /tmp/count.copy, so that a
# container frozen while one file is being rewritten (opened and truncated, not yet
# written; under I/O load that open can take a while) still holds the other whole, which
# count_in_layer reads.
write_count='echo $i > /tmp/count; echo $i > /tmp/count.copy'
# A shell loop that counts in memory and writes the count every 0.1 s.
counter_cmd="i=0; while true; do i=\$((i+1)); $write_count; sleep 0.1; done"

# wait_until SECONDS COMMAND...: polls until COMMAND succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# The host's CRIU config for runc, and the lock under which dockmig lends it lines for one
# dump or restore.
runc_conf=/etc/criu/runc.conf
runc_conf_lock=/run/dockmig-runc-conf.lock
# runc_conf_text: the file as it is (or `absent`), read under the lock, never mid-lend.
runc_conf_text() { (flock 9 && cat "$runc_conf" 2>/dev/null || echo absent) 9>>"$runc_conf_lock"; }
# runc_conf_as_before TEXT: it holds TEXT again (`absent`: no file), and no lend's saved
# copy is left beside it.
runc_conf_as_before() {
  [ "$(cat "$runc_conf" 2>/dev/null || echo absent)" = "$1" ] && [ ! -e "$runc_conf.dockmig-saved" ]
}
# under_runc_conf_lock COMMAND...: runs COMMAND holding it. Docker's own checkpoint and
# restore read that file too, and another bed's handoff on this host may have lent it.
under_runc_conf_lock() { (flock 9 && "$@") 9>>"$runc_conf_lock"; }

# restore_checkpoint HOST CONTAINER NAME: `docker start --checkpoint`, with the nonce file
# that dockmig also writes: Docker 20.10 fails a restore on the daemon that made the
# checkpoint when containerd still holds a blob of the same digest (docs/testbed.md).
restore_checkpoint() {
  local host=$1 container=$2 name=$3 id root
  id=$(dk "$host" inspect -f '{{.Id}}' "$container")
  root=$(dk "$host" info -f '{{.DockerRootDir}}')
  date +%s%N >"$root/containers/$id/checkpoints/$name/dockmig-restore-nonce"
  dk "$host" start --checkpoint "$name" "$container"
}

# number_of COMMAND...: the command's output once it is a number. A loop that rewrites a
# file with `echo $i > file` leaves it empty for an instant, and a reader can hit that.
number_of() {
  local value
  for _ in $(seq 50); do
    value=$("$@" 2>/dev/null || true)
    if [[ $value =~ ^[0-9]+$ ]]; then echo "$value"; return 0; fi
    sleep 0.1
  done
  echo "no number from: $*" >&2
  return 1
}

# upper_dir_of HOST CONTAINER: the container's writable layer: dockerd's UpperDir with
# overlay2; with the containerd image store (a +snapshotter edge, where inspect names none)
# the upperdir of its snapshot, which containerd's ctr (in /opt/docker-28.5/bin) tells.
# (The daemon names its containerd in /info only at API versions above 1.41: unversioned.)
upper_dir_of() {
  local dir socket_var ctr_args
  dir=$(dk "$1" inspect -f '{{with .GraphDriver.Data}}{{.UpperDir}}{{end}}' "$2") || return 1
  if [ -n "$dir" ] && [ "$dir" != "<no value>" ]; then echo "$dir"; return 0; fi
  socket_var=$(echo "${1^^}_DOCKER" | tr - _)
  mapfile -t ctr_args < <(curl -sS --unix-socket "${!socket_var#unix://}" http://docker/info | python3 -c 'import json, sys
c = json.load(sys.stdin)["Containerd"]
print(c["Address"]); print(c["Namespaces"]["Containers"])')
  [ ${#ctr_args[@]} = 2 ] || { echo "$1 names neither an UpperDir for $2 nor its containerd" >&2; return 1; }
  PATH=$PATH:/opt/docker-28.5/bin ctr --address "${ctr_args[0]}" --namespace "${ctr_args[1]}" snapshots \
    --snapshotter overlayfs mounts / "$(dk "$1" inspect -f '{{.Id}}' "$2")" | grep -o 'upperdir=[^,]*' | cut -d= -f2
}

# count_of HOST CONTAINER: the counter's last value (from the container, or its upper dir
# while it is stopped).
count_once() {
  dk "$1" exec "$2" cat /tmp/count 2>/dev/null || count_in_layer "$(upper_dir_of "$1" "$2")"
}
# count_in_layer UPPER_DIR: the count a stopped counter left in its writable layer.
count_in_layer() {
  local file value
  for file in "$1/tmp/count" "$1/tmp/count.copy"; do
    value=$(cat "$file" 2>/dev/null) || continue
    if [[ $value =~ ^[0-9]+$ ]]; then echo "$value"; return 0; fi
  done
  return 1
}
count_of() { number_of count_once "$1" "$2"; }
count_at_least() { [ "$(count_of "$1" "$2" 2>/dev/null || echo 0)" -ge "$3" ]; }

# holding_userfaultfd HOST CONTAINER: the container's processes that hold a userfaultfd
# (pre-copy's write tracking must leave none behind).
holding_userfaultfd() {
  local pid ns proc
  pid=$(dk "$1" inspect -f '{{.State.Pid}}' "$2")
  ns=$(readlink "/proc/$pid/ns/pid")
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/ns/pid" 2>/dev/null)" = "$ns" ] || continue
    if find "$proc/fd" -lname '*userfaultfd*' 2>/dev/null | grep -q .; then echo "${proc#/proc/}"; fi
  done
}

# ---- migrations -------------------------------------------------------------------------
agent_port=7070
agent_pids=()
# The link between agents is TLS unless both ends say --insecure (docs/api.md, "Transport").
# These helpers test migrations, not the link's security, so they use plain TCP; the hook_*
# tests use TLS with certificates from `dockmig certs`.
transport_args=(--insecure)
# start_agent HOST [SERVE ARGS...]: `dockmig serve` in HOST's namespace, on its edge-link
# address, with ARGS added (e.g. --allow privileged).
start_agent() {
  local host=$1 addr_var docker_var netns_var; shift
  addr_var=$(echo "${host^^}_ADDR" | tr - _); docker_var=$(echo "${host^^}_DOCKER" | tr - _)
  netns_var=$(echo "${host^^}_NETNS" | tr - _)
  # A simple command in the background: $! is nsenter, which execs dockmig: the agent.
  nsenter --net="/run/netns/${!netns_var}" -- "$DOCKMIG" serve --listen "${!addr_var}:$agent_port" \
    --docker "${!docker_var}" --state-dir "$BED_STATE/agent-$host" "${transport_args[@]}" "$@" \
    >>"$BED_STATE/agent-$host.log" 2>&1 &
  agent_pids+=($!)
  # It listens once it settled what its last run left (a slow docker rm among it).
  wait_until 30 in_ns "$host" bash -c "exec 3<>/dev/tcp/${!addr_var}/$agent_port" \
    || fail "the agent on $host did not start; see $BED_STATE/agent-$host.log"
}
# memory_dir_of HOST: where HOST's agent stages incoming pages (serve --memory-dir /dev/shm).
memory_dir_of() { echo "/dev/shm/dockmig$(echo "$BED_STATE/agent-$1" | tr / -)"; }
stop_agents() {
  for pid in "${agent_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${agent_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  agent_pids=()
}
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT

# migrate FROM TO CONTAINER [ARGS...]: runs `dockmig migrate` on FROM towards TO's agent;
# the JSON report lands in $report, stderr in $errors, the exit code in $migrate_status.
# Its journal is in FROM's agent state dir, as it would be on a host.
report=$(mktemp) errors=$(mktemp)
migrate() {
  local from=$1 to=$2 container=$3; shift 3
  local docker_var to_var
  docker_var=$(echo "${from^^}_DOCKER" | tr - _); to_var=$(echo "${to^^}_ADDR" | tr - _)
  migrate_status=0
  in_ns "$from" "$DOCKMIG" migrate "$container" "${!to_var}:$agent_port" --docker "${!docker_var}" \
    --state-dir "$BED_STATE/agent-$from" "${transport_args[@]}" --json "$@" >"$report" 2>"$errors" \
    || migrate_status=$?
  sed 's/^/    stderr: /' "$errors"
}
# field EXPR: a value from the JSON report, e.g. field '["image_source"]'.
field() { python3 -c "import json,sys; r=json.load(open('$report')); print(r$1)"; }
# memory_field EXPR: a value of the report's memory, e.g. memory_field "['mode']".
memory_field() { field "['memory']$1"; }
phase_field() { field "['phases']['$1']['$2']"; }
running() { [ "$(dk "$1" inspect -f '{{.State.Running}}' "$2" 2>/dev/null)" = true ]; }
# count_continued WHAT READ HOST: `READ HOST` prints a count the container keeps in WHAT;
# fails unless it is past 20 right after the handoff and grows within a second. Sets $after.
count_continued() {
  local at_handoff
  at_handoff=$($2 "$3")
  sleep 1
  after=$($2 "$3")
  step "count in $1 on $3: $at_handoff at the handoff, $after a second later"
  [ "$at_handoff" -gt 20 ] && [ "$after" -gt "$at_handoff" ] || fail "the count in $1 did not continue"
}
exists() { dk "$1" inspect "$2" >/dev/null 2>&1; }
# refused WHAT CONTAINER PATTERN: the last migrate was refused before the freeze: exit 2,
# the message naming PATTERN, CONTAINER still running on edge-a and none left on edge-b.
refused() {
  [ "$migrate_status" = 2 ] || fail "$1: dockmig migrate exited $migrate_status, expected 2"
  grep -qF -- "$3" "$errors" || fail "$1: the message does not name \`$3\`"
  running edge-a "$2" || fail "$1: $2 no longer runs on edge-a"
  exists edge-b "$2" && fail "$1: a container $2 was left on edge-b"
  step "ok: refused: $1"
}
# inspect_plan HOST CONTAINER [ARGS...]: `dockmig inspect` on HOST, its text in $plan_text
# and its --json in $plan_json; fails the test when either does not exit 0.
plan_text=$BED_STATE/$test_name.plan.txt plan_json=$BED_STATE/$test_name.plan.json
inspect_plan() {
  local host=$1 container=$2 docker_var status=0; shift 2
  docker_var=$(echo "${host^^}_DOCKER" | tr - _)
  "$DOCKMIG" inspect "$container" --docker "${!docker_var}" "$@" >"$plan_text" || status=$?
  [ "$status" = 0 ] || fail "dockmig inspect $container exited $status"
  "$DOCKMIG" inspect "$container" --docker "${!docker_var}" --json "$@" >"$plan_json" || status=$?
  [ "$status" = 0 ] || fail "dockmig inspect $container --json exited $status"
}
# plan_line WHAT TEXT...: a line of the last inspect_plan's text holds every TEXT.
plan_line() {
  local what=$1 line text found; shift
  while IFS= read -r line; do
    found=1
    for text in "$@"; do [[ $line == *"$text"* ]] || { found=0; break; }; done
    [ "$found" = 0 ] || { step "ok: inspect shows $what: ${line#  }"; return 0; }
  done <"$plan_text"
  sed 's/^/    inspect: /' "$plan_text"
  fail "dockmig inspect does not show $what (no line with: $*)"
}
# plan_check WHAT PYTHON [ARGS...]: PYTHON's asserts hold of the last inspect_plan's JSON,
# read as `p`; ARGS are `a[0]`, `a[1]`...
plan_check() {
  python3 -c "import json, sys
p, a = json.load(open(sys.argv[1])), sys.argv[2:]
$2" "$plan_json" "${@:3}" || fail "dockmig inspect --json: $1"
  step "ok: inspect --json: $1"
}

# cleanup_networks: removes the networks a test made (with its label) on both hosts.
cleanup_networks() {
  for host in edge-a edge-b; do
    local ids
    ids=$(dk "$host" network ls -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || dk "$host" network rm $ids >/dev/null 2>&1 || true
  done
}

# ---- fault points (docs/reliability.md) ---------------------------------------------------
# A dockmig armed with POINT=pause (DOCKMIG_FAULTS) stops at POINT, writes its pid to
# $DOCKMIG_FAULT_DIR/POINT.reached and waits for POINT.release: the test acts meanwhile,
# from outside, at that exact moment of the migration.
# need_fault_points: skips the test when this dockmig was built without them.
need_fault_points() {
  "$DOCKMIG" --version | grep -q 'with fault points' || {
    echo "SKIP: $DOCKMIG has no fault points; build with -DDOCKMIG_FAULT_POINTS=ON (tools/test.sh does)" >&2
    exit 77
  }
  export DOCKMIG_FAULT_DIR=$BED_STATE/faults-$test_name
  rm -rf "$DOCKMIG_FAULT_DIR" && mkdir -p "$DOCKMIG_FAULT_DIR"
}
# fault_wait POINT [PID]: until a process pauses at POINT (its pid is then $paused_pid);
# fails when process PID ended first, or after 120 s.
fault_wait() {
  local reached=$DOCKMIG_FAULT_DIR/$1.reached deadline=$((SECONDS + 120))
  until [ -s "$reached" ]; do
    [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
  paused_pid=$(cat "$reached")
}
# gone PID: the process has exited (a zombie not yet reaped by its parent counts: kill -0
# still reaches one).
gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }
# kill_paused: kill -9 of the process paused at a fault point, back once it is gone (SIGKILL
# takes effect asynchronously, later under load).
kill_paused() { kill -9 "$paused_pid"; wait_until 30 gone "$paused_pid" || fail "pid $paused_pid survived kill -9"; }
# fault_release POINT: lets the process paused at POINT go on, once one is there (or, when
# the test killed it there, clears its mark).
fault_release() {
  fault_wait "$1" || fail "no process paused at $1"
  if gone "$paused_pid"; then rm -f "$DOCKMIG_FAULT_DIR/$1.reached"; return 0; fi
  touch "$DOCKMIG_FAULT_DIR/$1.release"
  wait_until 30 test ! -e "$DOCKMIG_FAULT_DIR/$1.release" || fail "the process paused at $1 did not go on"
}
# migrate_pausing POINT ACTION [POINT ACTION...] -- FROM TO CONTAINER [ARGS...]: `migrate`,
# with dockmig paused at each POINT in turn while the shell code ACTION runs here;
# $paused_pid is dockmig's pid. Fails when the migration ends before a POINT.
migrate_pausing() {
  local points=() actions=() faults='' job i
  while [ "$1" != -- ]; do points+=("$1"); actions+=("$2"); faults+="${faults:+,}$1=pause"; shift 2; done
  shift
  rm -f "$DOCKMIG_FAULT_DIR/migrate-status"
  (DOCKMIG_FAULTS=$faults migrate "$@"; echo "$migrate_status" >"$DOCKMIG_FAULT_DIR/migrate-status") &
  job=$!
  for i in "${!points[@]}"; do
    fault_wait "${points[i]}" "$job" || { wait "$job"; fail "the migration ended before ${points[i]}"; }
    eval "${actions[i]}" || { fault_release "${points[i]}"; wait "$job"; fail "the action at ${points[i]} failed"; }
    fault_release "${points[i]}"
  done
  wait "$job"
  migrate_status=$(cat "$DOCKMIG_FAULT_DIR/migrate-status")
}
# build_memwriter DIR IMAGE: builds apps/memwriter.c in DIR into IMAGE on edge-a.
build_memwriter() {
  gcc -O2 -static -o "$1/memwriter" "$(dirname "$0")/apps/memwriter.c" || fail "cannot build memwriter"
  printf 'FROM %s\nCOPY memwriter /memwriter\n' "$IMAGE_TINY" >"$1/Dockerfile"
  DOCKER_BUILDKIT=0 dk edge-a build -q -t "$2" --label "$label" "$1" >/dev/null || fail "cannot build the memwriter image"
}
# start_memwriter NAME MIB [PAGES_PER_SECOND [DISCARDS_PER_SECOND]]: memwriter
# (apps/memwriter.c, built into dockmig-test/memwriter:1) as container NAME on edge-a,
# rewriting its region of MIB MiB at PAGES_PER_SECOND pages a second (default 50) and
# giving back and rewriting DISCARDS_PER_SECOND (default 0); returns once it has written
# for two seconds.
start_memwriter() {
  local name=$1 mib=$2 rate=${3:-50} discards=${4:-0} build_dir
  build_dir=$(mktemp -d)
  build_memwriter "$build_dir" dockmig-test/memwriter:1
  rm -rf "$build_dir"
  dk edge-a run -d --name "$name" --label "$label" dockmig-test/memwriter:1 /memwriter "$mib" "$rate" "$discards" >/dev/null \
    || fail "cannot start memwriter as $name"
  wait_until 15 count_at_least edge-a "$name" $((2 * rate)) || fail "memwriter $name did not start writing"
}
# memwriter_verified HOST CONTAINER: asks memwriter to check every page of its region
# against what it wrote there (SIGUSR1); prints its answer: "ok PAGES WRITES", "bad page ..."
# or "no answer".
memwriter_verified() {
  dk "$1" exec "$2" rm -f /tmp/verify
  dk "$1" kill -s USR1 "$2" >/dev/null
  wait_until 10 dk "$1" exec "$2" test -s /tmp/verify || { echo "no answer"; return; }
  dk "$1" exec "$2" cat /tmp/verify
}
