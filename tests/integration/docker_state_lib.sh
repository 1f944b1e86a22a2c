# dockerd's own view of a migrated container, shared by migrate_docker_state.sh (Docker's
# checkpoint path and the page server's) and migrate_docker_state_lazy.sh (lazy restore).
# Each case checks what dockerd says against the processes themselves:
# - rollback_case: the destination fails at the last step (its copy runs, then its agent
#   dies before the commit and a restarted agent removes the copy); the source must be
#   resumed, its count carrying on, and the destination must keep no copy;
# - handoff_case: dockerd at the source shows the frozen container exited during the
#   handoff and has removed it afterwards (docs/design.md, "confirm"), its process gone;
#   dockerd at the destination shows it running (`docker ps`, `docker inspect` State), with
#   a Pid that is the restored container's init, holding the container's count; its
#   `docker logs` carries on exactly after the last line the source logged before its
#   freeze, and `docker logs -f` streams new lines;
# - stop_restart_case: `docker stop` reaches the restored process (its SIGTERM trap exits 0
#   well within the timeout) and dockerd sees the exit; `docker restart` runs a fresh one.
# The service prints `tick N` every 0.1 s to stdout and keeps N in /tmp/tick; with
# memwriting=true a memwriter beside it (/tmp/count) must also carry on.
source "$(dirname "$0")/lib.sh"
need_fault_points
work=$(mktemp -d)
memwriter_image=dockmig-test/memwriter-state:1
memwriting=false
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
# The link's speed is not what these tests are about; their memory should not take long.
"$TESTBED" rate 100mbit >/dev/null
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
docker_of() { local var; var=$(echo "${1^^}_DOCKER" | tr - _); echo "${!var}"; }
# writes_of HOST NAME: memwriter's write count, or 0 when the service has none.
writes_of() { if $memwriting; then count_of "$1" "$2"; else echo 0; fi; }

# start_service NAME IMAGE COMMAND: NAME on edge-a, once it ticks (and writes).
start_service() {
  dk edge-a run -d --name "$1" --label "$label" "$2" sh -c "$3" >/dev/null
  wait_until 15 tick_at_least edge-a "$1" 20 || fail "$1 did not start ticking on edge-a"
  ! $memwriting || wait_until 15 count_at_least edge-a "$1" 100 || fail "$1's memwriter did not start writing"
}

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
# up to the freeze. dockmig's freeze ends once CRIU's images are complete, and Docker's
# checkpoint call may still be winding down then (checkpoint/dump.h): until dockerd has
# handled the task's exit it shows the container as containerd paused it for the dump,
# `paused true`. That is waited out here (up to 15 s, the migration held meanwhile), and
# the first view kept with whether the source's process was gone by then and how long
# dockerd took. Arguments: the container, the source's dockerd, the source's pid.
cat >"$work/at-freeze.sh" <<EOF
view() { $DOCKER_CLI -H "\$2" inspect -f '{{.State.Status}} {{.State.Running}}' "\$1"; }
t0=\$(date +%s%N) first=\$(view "\$1" "\$2")
process=gone
if [ -d /proc/\$3 ] && ! grep -q '^State:.*zombie' /proc/\$3/status 2>/dev/null; then process=alive; fi
now=\$first
while [ "\$now" = "paused true" ] && [ \$(( (\$(date +%s%N) - t0) / 1000000 )) -lt 15000 ]; do
  sleep 0.1; now=\$(view "\$1" "\$2")
done
echo "\$now" >$work/frozen-state
[ "\$first" = "\$now" ] || echo "\$first \$process \$(( (\$(date +%s%N) - t0) / 1000000 ))" >$work/frozen-first
$DOCKER_CLI -H "\$2" logs "\$1" >$work/frozen-logs 2>&1
EOF
# Paused before confirm: the destination, edge-b, fails at the last step. Its copy runs
# (that is recorded, with the pid of a lazy restore's `criu lazy-pages` if one still
# serves it); its agent dies before the commit, and a new agent, which removes what the
# killed one made, answers the source's question how the migration ended.
docker_root_b=$(dk edge-b info -f '{{.DockerRootDir}}')
cat >"$work/fail-at-confirm.sh" <<EOF
$DOCKER_CLI -H $EDGE_B_DOCKER inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}}' "\$1" >$work/dest-before-commit
id=\$($DOCKER_CLI -H $EDGE_B_DOCKER inspect -f '{{.Id}}' "\$1")
cat "$docker_root_b/containers/\$id/dockmig-lazy/lazy-pages.pid" >$work/lazy-daemon 2>/dev/null || true
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
# start_agent_b: edge-b's agent, which fail-at-confirm.sh kills and restarts.
start_agent_b() { start_agent edge-b; agent_b=${agent_pids[-1]}; }
# The agent edge-b runs now: start_agent_b's, or the one fail-at-confirm.sh restarted.
current_agent_b() { cat "$work/restarted-agent" 2>/dev/null || echo "$agent_b"; }

# frozen_tick WHAT: the last tick the source logged before its freeze, after checking that
# dockerd showed it stopped then: at once, or once Docker's checkpoint call had wound down,
# its process gone before (see at-freeze.sh).
frozen_tick() {
  local what=$1 frozen status running process took
  [ "$(cat "$work/frozen-state")" = "exited false" ] \
    || fail "$what: during the handoff dockerd at the source showed the frozen container as \`$(cat "$work/frozen-state")\`, not exited"
  if [ -e "$work/frozen-first" ]; then
    read -r status running process took <"$work/frozen-first"
    [ "$process" = gone ] \
      || fail "$what: dockerd at the source showed the frozen container \`$status $running\` while its process still existed"
    step "$what: dockerd at the source first showed the frozen container \`$status $running\`, its process gone, and exited $took ms later (Docker's checkpoint call winding down)" >&2
  fi
  frozen=$(awk '$1 == "tick" {n = $2} END {print n}' "$work/frozen-logs")
  [ -n "$frozen" ] || fail "$what: the source had logged no tick before its freeze"
  echo "$frozen"
}

# rollback_case PATH NAME [MIGRATE ARGS...]: edge-a -> edge-b through checkpoint PATH,
# failing at the last step (see the top).
rollback_case() {
  local path=$1 name=$2; shift 2
  local what="$path path, rollback" frozen source_pid dest_pid n status running writes_before
  step "$what: edge-a -> edge-b${*:+ ($*)}, the destination's agent dies after its copy runs, before the commit"
  check_running edge-a "$name" "$what, before"; source_pid=$pid
  writes_before=$(writes_of edge-a "$name")
  rm -f "$work/frozen-state" "$work/frozen-first" "$work/frozen-logs" "$work/dest-before-commit" "$work/lazy-daemon"
  # fail-at-confirm.sh runs in edge-a, as the source: only there does "it listens" mean
  # that the source will reach the restarted agent.
  migrate_pausing source.before-finalsync "bash $work/at-freeze.sh $name $EDGE_A_DOCKER $source_pid" \
    source.before-confirm "in_ns edge-a bash $work/fail-at-confirm.sh $name $(current_agent_b)" -- edge-a edge-b "$name" "$@"
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
  n=$(writes_of edge-a "$name")
  ! $memwriting || [ "$n" -gt "$writes_before" ] \
    || fail "$what: memwriter's write count did not carry on in the resumed source ($writes_before -> $n)"
  step "$what: exit 1, edge-b kept nothing (its copy, pid $dest_pid, is gone), edge-a resumed at tick $((frozen + 1)) and counts on to $(last_tick edge-a "$name")"
}

# handoff_case PATH FROM TO NAME [MIGRATE ARGS...]: FROM -> TO through checkpoint PATH,
# succeeding (see the top). Sets $pid to the destination's.
handoff_case() {
  local path=$1 from=$2 to=$3 name=$4; shift 4
  local what="$path path, handoff $from -> $to" frozen source_pid dest_pid first last more n writes_before
  step "$what${*:+ ($*)}"
  check_running "$from" "$name" "$what, before"; source_pid=$pid
  writes_before=$(writes_of "$from" "$name")
  rm -f "$work/frozen-state" "$work/frozen-first" "$work/frozen-logs"
  migrate_pausing source.before-finalsync "bash $work/at-freeze.sh $name $(docker_of "$from") $source_pid" -- "$from" "$to" "$name" "$@"
  [ "$migrate_status" = 0 ] || fail "$what: dockmig migrate exited $migrate_status"
  [ "$(field "['succeeded']")" = True ] || fail "$what: the report does not say succeeded"
  [ "$(field "['checkpoint_path']")" = "$path" ] || fail "$what: the checkpoint went through $(field "['checkpoint_path']"), not $path"
  frozen=$(frozen_tick "$what") || exit 1

  # The source: removed by dockerd, its process gone.
  [ -z "$(dk "$from" ps -aq --filter "name=^/$name\$")" ] || fail "$what: docker ps -a on $from still lists $name ($(state "$from" "$name"))"
  exists "$from" "$name" && fail "$what: docker inspect on $from still finds $name"
  gone "$source_pid" || fail "$what: the source's process ($source_pid) still exists on $from"

  # The destination: running, with a real Pid; its log carries on after the source's.
  check_running "$to" "$name" "$what, destination"; dest_pid=$pid
  [ "$(dk "$to" ps -aq --filter "name=^/$name\$" | wc -l)" = 1 ] || fail "$what: $to lists more than one $name"
  sleep 1
  first=$(ticks "$to" "$name" | head -n1)
  [ "$first" = $((frozen + 1)) ] \
    || fail "$what: $to's log starts at tick ${first:-(none)}; the source logged up to $frozen before the freeze"
  n=$(ticks "$to" "$name" | first_break)
  [ -z "$n" ] || fail "$what: $to's log does not count on by one: $n"
  last=$(last_tick "$to" "$name")
  [ "$last" -ge $((first + 5)) ] || fail "$what: $to logged only ticks $first..$last in a second"
  [ "$(tick_of "$to" "$name")" -ge "$last" ] || fail "$what: /tmp/tick on $to is behind its log"
  n=$(writes_of "$to" "$name")
  ! $memwriting || [ "$n" -gt "$writes_before" ] || fail "$what: memwriter's write count did not carry on ($writes_before -> $n)"
  more=$(timeout 1.5 "$TESTBED" docker "$to" logs -f --tail 0 "$name" 2>/dev/null | awk '$1 == "tick" {print $2}' || true)
  [ "$(echo "$more" | grep -c .)" -ge 5 ] || fail "$what: docker logs -f on $to streamed only $(echo "$more" | grep -c .) lines in 1.5 s"
  [ "$(echo "$more" | head -n1)" -gt "$last" ] || fail "$what: docker logs -f streamed old ticks ($(echo "$more" | head -n1) after $last)"
  step "$what: downtime $(field "['downtime_seconds']") s; $from removed it; $to runs it as pid $dest_pid, logging from tick $first (frozen at $frozen) on"
  pid=$dest_pid last_logged=$last
}

# stop_restart_case WHAT HOST NAME DEST_PID LAST: `docker stop`, then `docker restart`, of
# the restored process DEST_PID, which had logged up to tick LAST.
stop_restart_case() {
  local what=$1 host=$2 name=$3 dest_pid=$4 last=$5 t0 took status running exit_code stopped_at
  # docker stop: SIGTERM reaches the restored process, which exits 0 by its trap.
  t0=$(date +%s%N)
  dk "$host" stop -t 10 "$name" >/dev/null || fail "$what: docker stop on $host failed"
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  read -r status running pid exit_code <<<"$(state "$host" "$name")"
  [ "$status $running $pid" = "exited false 0" ] || fail "$what: after docker stop, docker inspect says $status Running=$running Pid=$pid"
  [ "$exit_code" = 0 ] || fail "$what: the stopped container exited $exit_code, not 0 by its SIGTERM trap (137: killed after the timeout)"
  [ "$took" -lt 5000 ] || fail "$what: docker stop took $took ms of its 10 s timeout"
  wait_until 5 gone "$dest_pid" || fail "$what: pid $dest_pid still exists after docker stop"
  stopped_at=$(dk "$host" logs "$name" 2>/dev/null | awk '$1 == "stopped" {print $3}' | tail -n1)
  [ -n "$stopped_at" ] && [ "$stopped_at" -ge "$last" ] \
    || fail "$what: the log has no \`stopped at\` line past tick $last (${stopped_at:-none})"
  [ -z "$(dk "$host" ps -q --filter "name=^/$name\$")" ] || fail "$what: docker ps on $host still shows $name running"

  # docker restart: a fresh process, counting from 1 in the same log.
  dk "$host" restart -t 10 "$name" >/dev/null || fail "$what: docker restart on $host failed"
  wait_until 10 counted_again "$host" "$name" \
    || fail "$what: after docker restart the log shows no fresh count past the stop: $(dk "$host" logs --tail 3 "$name" 2>&1 | tr '\n' ' ')"
  check_running "$host" "$name" "$what, after docker restart"
  [ "$pid" != "$dest_pid" ] || fail "$what: docker restart kept Pid $dest_pid"
  [ "$(dk "$host" logs "$name" 2>/dev/null | sed -n '/^stopped at/{n;p;q}')" = "tick 1" ] \
    || fail "$what: the line after the stop is not a fresh \`tick 1\`"
  step "$what: docker stop took $took ms (exit 0, stopped at tick $stopped_at); docker restart runs it fresh as pid $pid"
}
