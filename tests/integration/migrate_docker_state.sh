# dockerd stays the owner of a migrated container, by each checkpoint path: Docker's own
# (a busybox counter, whose first pre-copy round is under 32 MiB) and CRIU's page server
# (memwriter with 40 MiB). For each path the same container is first handed off with a
# destination that fails at the last step: its copy runs, then its agent dies before the
# commit and a restarted agent removes the copy; the source must be resumed by rollback,
# its count carrying on, and the destination must keep no copy. Then the handoff
# succeeds, and:
# - dockerd at the source shows the frozen container exited during the handoff and has
#   removed it afterwards (docs/design.md, "confirm"), its process gone;
# - dockerd at the destination shows it running (`docker ps`, `docker inspect` State),
#   with a Pid that is the restored container's init, holding the container's count;
# - `docker logs` at the destination carries on exactly after the last line the source
#   logged before its freeze, and `docker logs -f` streams new lines;
# - `docker stop` reaches the restored process (its SIGTERM trap exits 0 well within the
#   timeout) and dockerd sees the exit; `docker restart` then runs a fresh process.
# The service prints `tick N` every 0.1 s to stdout and keeps N in /tmp/tick.
source "$(dirname "$0")/lib.sh"
need_fault_points
work=$(mktemp -d)
memwriter_image=dockmig-test/memwriter-state:1
stop_restarted_agent() {
  local pid
  pid=$(cat "$work/restarted-agent" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  wait_until 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$work/restarted-agent"
}
trap 'stop_agents; stop_restarted_agent; cleanup_containers
  for h in edge-a edge-b; do dk $h rmi -f "$memwriter_image" >/dev/null 2>&1 || true; done
  rm -rf "$work" "$report" "$errors"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
# The link's speed is not what this test is about; 40 MiB of pre-copy should not take long.
"$TESTBED" rate 100mbit >/dev/null
start_agent edge-b

build_memwriter "$work" "$memwriter_image"

# A SIGTERM trap (which a namespace's init needs to see the signal at all) ends it with 0
# and a last line, so `docker stop` proves the signal reached the restored process.
ticker='trap "echo stopped at \$i; exit 0" TERM
i=0; while true; do i=$((i+1)); echo "tick $i"; echo $i > /tmp/tick; sleep 0.1; done'

ticks() { dk "$1" logs "$2" 2>/dev/null | awk '$1 == "tick" {print $2}'; }
last_tick() { ticks "$1" "$2" | tail -n1; }
tick_of() { number_of dk "$1" exec "$2" cat /tmp/tick; }
tick_at_least() { [ "$(tick_of "$1" "$2" 2>/dev/null || echo 0)" -ge "$3" ]; }
logged_at_least() { [ "$(last_tick "$1" "$2")" -ge "$3" ] 2>/dev/null; }
absent() { ! exists "$@"; }
# counted_again HOST NAME: after the `stopped at` line the log counts afresh up to 5.
counted_again() { dk "$1" logs "$2" 2>/dev/null | sed -n '/^stopped at/,$p' | grep -qx 'tick 5'; }
# first_break: the first place where a list of ticks does not go up by one, or nothing.
first_break() { awk 'NR > 1 && $1 != prev + 1 {print "after " prev " came " $1; exit} {prev = $1}'; }
state() { dk "$1" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}' "$2"; }
gone() { [ ! -e "/proc/$1" ]; }

# check_running HOST NAME WHAT: dockerd shows NAME running on HOST, and the Pid it gives
# is the container's init: pid 1 of its own namespace, whose root holds the count.
# Sets $pid.
check_running() {
  local host=$1 name=$2 what=$3 status running exit_code ps_status nspid
  read -r status running pid exit_code <<<"$(state "$host" "$name")"
  [ "$status $running" = "running true" ] || fail "$what: docker inspect on $host says $status, Running=$running"
  [ "$pid" -gt 0 ] && [ -d "/proc/$pid" ] || fail "$what: docker inspect on $host gives Pid $pid, which is no process"
  nspid=$(awk '$1 == "NSpid:" {print $NF}' "/proc/$pid/status")
  [ "$nspid" = 1 ] || fail "$what: Pid $pid on $host is pid $nspid in its namespace, not the container's init"
  number_of cat "/proc/$pid/root/tmp/tick" >/dev/null \
    || fail "$what: Pid $pid's root on $host has no /tmp/tick: not this container's process"
  ps_status=$(dk "$host" ps --filter "name=^/$name\$" --format '{{.Status}}')
  [[ $ps_status == Up* ]] || fail "$what: docker ps on $host shows \`$ps_status\` for $name, not Up"
}

# Paused before finalsync, the source is frozen: dockerd's view of it then, and its logs
# up to the freeze.
cat >"$work/at-freeze.sh" <<EOF
$DOCKER_CLI -H $EDGE_A_DOCKER inspect -f '{{.State.Status}} {{.State.Running}}' "\$1" >$work/frozen-state
$DOCKER_CLI -H $EDGE_A_DOCKER logs "\$1" >$work/frozen-logs 2>&1
EOF
# Paused before confirm: the destination fails at the last step. Its copy runs (that is
# recorded); its agent dies before the commit, and a new agent, which removes what the
# killed one made, answers the source's question how the migration ended.
cat >"$work/fail-at-confirm.sh" <<EOF
$DOCKER_CLI -H $EDGE_B_DOCKER inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}}' "\$1" >$work/dest-before-commit
kill -9 \$2
nsenter --net=/run/netns/$EDGE_B_NETNS -- "$DOCKMIG" serve --listen $EDGE_B_ADDR:$agent_port \
  --docker $EDGE_B_DOCKER --state-dir $BED_STATE/agent-edge-b ${transport_args[*]} \
  </dev/null >>$BED_STATE/agent-edge-b.log 2>&1 &
echo \$! >$work/restarted-agent
for _ in \$(seq 100); do
  (exec 3<>/dev/tcp/$EDGE_B_ADDR/$agent_port) 2>/dev/null && exit 0
  sleep 0.1
done
echo "the restarted agent on edge-b does not listen" >&2
exit 1
EOF
# The agent edge-b runs now: the one start_agent made, or the one fail-at-confirm.sh restarted.
current_agent() { cat "$work/restarted-agent" 2>/dev/null || echo "${agent_pids[-1]}"; }

# frozen_tick: the last tick the source logged before its freeze, after checking that
# dockerd showed it stopped then.
frozen_tick() {
  local what=$1 frozen
  [ "$(cat "$work/frozen-state")" = "exited false" ] \
    || fail "$what: during the handoff dockerd on edge-a showed the frozen source as \`$(cat "$work/frozen-state")\`, not exited"
  frozen=$(awk '$1 == "tick" {n = $2} END {print n}' "$work/frozen-logs")
  [ -n "$frozen" ] || fail "$what: the source had logged no tick before its freeze"
  echo "$frozen"
}

# run_path PATH NAME IMAGE COMMAND [MIGRATE ARGS OF THE ROLLBACK...]
run_path() {
  local path=$1 name=$2 image=$3 command=$4; shift 4
  local what="$path path, rollback" started frozen source_pid dest_pid first last more n status running
  started=$SECONDS
  dk edge-a run -d --name "$name" --label "$label" "$image" sh -c "$command" >/dev/null
  wait_until 15 tick_at_least edge-a "$name" 20 \
    || fail "$path path: $name did not start ticking on edge-a"
  [ "$path" = docker ] || wait_until 15 count_at_least edge-a "$name" 100 || fail "$path path: memwriter did not start writing"

  step "$what: edge-a -> edge-b${*:+ ($*)}, the destination's agent dies after its copy runs, before the commit"
  check_running edge-a "$name" "$what, before"; source_pid=$pid
  local writes_before=0
  [ "$path" = docker ] || writes_before=$(count_of edge-a "$name")
  rm -f "$work/frozen-state" "$work/frozen-logs" "$work/dest-before-commit"
  # fail-at-confirm.sh runs in edge-a, as the source: only there does "it listens" mean
  # that the source will reach the restarted agent.
  migrate_pausing source.before-finalsync "bash $work/at-freeze.sh $name" \
    source.before-confirm "in_ns edge-a bash $work/fail-at-confirm.sh $name $(current_agent)" -- edge-a edge-b "$name" "$@"
  [ "$migrate_status" = 1 ] || fail "$what: dockmig migrate exited $migrate_status, expected 1 (failed, source runs)"
  [ "$(field "['rolled_back']")" = True ] || fail "$what: the report does not say rolled back"
  [ "$(field "['checkpoint_path']")" = "$path" ] || fail "$what: the checkpoint went through $(field "['checkpoint_path']"), not $path"
  frozen=$(frozen_tick "$what") || exit 1
  read -r status running dest_pid <<<"$(cat "$work/dest-before-commit" 2>/dev/null || echo none)"
  [ "$status $running" = "running true" ] \
    || fail "$what: the destination's copy did not run before the commit (dockerd on edge-b: $status $running)"
  wait_until 10 absent edge-b "$name" \
    || fail "$what: edge-b still has $name ($(state edge-b "$name")) after its agent restarted"
  wait_until 5 gone "$dest_pid" \
    || fail "$what: the destination's copy (pid $dest_pid) still runs though dockerd on edge-b no longer lists it"
  check_running edge-a "$name" "$what, source after rollback"
  [ "$pid" != "$source_pid" ] || fail "$what: edge-a's Pid is still $source_pid: the source was never stopped"
  gone "$source_pid" || fail "$what: the source's process from before the freeze ($source_pid) still exists"
  wait_until 10 logged_at_least edge-a "$name" $((frozen + 5)) \
    || fail "$what: the resumed source logged no ticks past $frozen"
  n=$(ticks edge-a "$name" | first_break)
  [ -z "$n" ] || fail "$what: the source's log does not count on by one across the rollback: $n (frozen at $frozen)"
  [ "$(ticks edge-a "$name" | head -n1)" = 1 ] || fail "$what: the source's log lost its beginning"
  if [ "$path" != docker ]; then
    n=$(count_of edge-a "$name")
    [ "$n" -gt "$writes_before" ] || fail "$what: memwriter's write count did not carry on in the resumed source ($writes_before -> $n)"
  fi
  step "$what: exit 1, edge-b kept nothing (its copy, pid $dest_pid, is gone), edge-a resumed at tick $((frozen + 1)) and counts on to $(last_tick edge-a "$name")"

  what="$path path, handoff"
  step "$what: edge-a -> edge-b"
  check_running edge-a "$name" "$what, before"; source_pid=$pid
  [ "$path" = docker ] || writes_before=$(count_of edge-a "$name")
  rm -f "$work/frozen-state" "$work/frozen-logs"
  migrate_pausing source.before-finalsync "bash $work/at-freeze.sh $name" -- edge-a edge-b "$name"
  [ "$migrate_status" = 0 ] || fail "$what: dockmig migrate exited $migrate_status"
  [ "$(field "['succeeded']")" = True ] || fail "$what: the report does not say succeeded"
  [ "$(field "['checkpoint_path']")" = "$path" ] || fail "$what: the checkpoint went through $(field "['checkpoint_path']"), not $path"
  frozen=$(frozen_tick "$what") || exit 1

  # The source: removed by dockerd, its process gone.
  [ -z "$(dk edge-a ps -aq --filter "name=^/$name\$")" ] || fail "$what: docker ps -a on edge-a still lists $name ($(state edge-a "$name"))"
  exists edge-a "$name" && fail "$what: docker inspect on edge-a still finds $name"
  gone "$source_pid" || fail "$what: the source's process ($source_pid) still exists on edge-a"

  # The destination: running, with a real Pid; its log carries on after the source's.
  check_running edge-b "$name" "$what, destination"; dest_pid=$pid
  [ "$(dk edge-b ps -aq --filter "name=^/$name\$" | wc -l)" = 1 ] || fail "$what: edge-b lists more than one $name"
  sleep 1
  first=$(ticks edge-b "$name" | head -n1)
  [ "$first" = $((frozen + 1)) ] \
    || fail "$what: edge-b's log starts at tick ${first:-(none)}; the source logged up to $frozen before the freeze"
  n=$(ticks edge-b "$name" | first_break)
  [ -z "$n" ] || fail "$what: edge-b's log does not count on by one: $n"
  last=$(last_tick edge-b "$name")
  [ "$last" -ge $((first + 5)) ] || fail "$what: edge-b logged only ticks $first..$last in a second"
  [ "$(tick_of edge-b "$name")" -ge "$last" ] || fail "$what: /tmp/tick on edge-b is behind its log"
  if [ "$path" != docker ]; then
    n=$(count_of edge-b "$name")
    [ "$n" -gt "$writes_before" ] || fail "$what: memwriter's write count did not carry on ($writes_before -> $n)"
  fi
  more=$(timeout 1.5 "$DOCKER_CLI" -H "$EDGE_B_DOCKER" logs -f --tail 0 "$name" 2>/dev/null | awk '$1 == "tick" {print $2}' || true)
  [ "$(echo "$more" | grep -c .)" -ge 5 ] || fail "$what: docker logs -f on edge-b streamed only $(echo "$more" | grep -c .) lines in 1.5 s"
  [ "$(echo "$more" | head -n1)" -gt "$last" ] || fail "$what: docker logs -f streamed old ticks ($(echo "$more" | head -n1) after $last)"
  step "$what: downtime $(field "['downtime_seconds']") s; edge-a removed it; edge-b runs it as pid $dest_pid, logging from tick $first (frozen at $frozen) on"

  # docker stop: SIGTERM reaches the restored process, which exits 0 by its trap.
  local t0 took exit_code stopped_at
  t0=$(date +%s%N)
  dk edge-b stop -t 10 "$name" >/dev/null || fail "$what: docker stop on edge-b failed"
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  read -r status running pid exit_code <<<"$(state edge-b "$name")"
  [ "$status $running $pid" = "exited false 0" ] || fail "$what: after docker stop, docker inspect says $status Running=$running Pid=$pid"
  [ "$exit_code" = 0 ] || fail "$what: the stopped container exited $exit_code, not 0 by its SIGTERM trap (137: killed after the timeout)"
  [ "$took" -lt 5000 ] || fail "$what: docker stop took $took ms of its 10 s timeout"
  wait_until 5 gone "$dest_pid" || fail "$what: pid $dest_pid still exists after docker stop"
  stopped_at=$(dk edge-b logs "$name" 2>/dev/null | awk '$1 == "stopped" {print $3}' | tail -n1)
  [ -n "$stopped_at" ] && [ "$stopped_at" -ge "$last" ] \
    || fail "$what: the log has no \`stopped at\` line past tick $last (${stopped_at:-none})"
  [ -z "$(dk edge-b ps -q --filter "name=^/$name\$")" ] || fail "$what: docker ps on edge-b still shows $name running"

  # docker restart: a fresh process, counting from 1 in the same log.
  dk edge-b restart -t 10 "$name" >/dev/null || fail "$what: docker restart on edge-b failed"
  wait_until 10 counted_again edge-b "$name" \
    || fail "$what: after docker restart the log shows no fresh count past the stop: $(dk edge-b logs --tail 3 "$name" 2>&1 | tr '\n' ' ')"
  check_running edge-b "$name" "$what, after docker restart"
  [ "$pid" != "$dest_pid" ] || fail "$what: docker restart kept Pid $dest_pid"
  [ "$(dk edge-b logs "$name" 2>/dev/null | sed -n '/^stopped at/{n;p;q}')" = "tick 1" ] \
    || fail "$what: the line after the stop is not a fresh \`tick 1\`"
  step "$what: docker stop took $took ms (exit 0, stopped at tick $stopped_at); docker restart runs it fresh as pid $pid"
  pass "$path path in $((SECONDS - started)) s"
}

run_path docker mig-state-docker "$IMAGE_TINY" "$ticker"
# The rollback dumps by stop-and-copy (no pre-copy rounds: also the page server), the
# handoff by pre-copy with a first round of 40 MiB.
run_path page-server mig-state-pages "$memwriter_image" "/memwriter 40 50 & $ticker" --mode stop-and-copy
pass "both checkpoint paths"
