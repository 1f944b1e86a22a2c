# Sourced by tools/faults/run: what a cell whose copy runs but whose counter does not go on
# keeps for a person (docs/reliability.md, row 85). Everything is read from outside the
# container, once the harness has judged and before end_cell removes the container: the
# readings of the counter, the container as dockerd sees it, each of its processes as the
# kernel does (state, wait channel, stack, pending signals, userfaultfds), its freezer
# cgroup, and the CRIU and runc logs of its last restore. Nothing here changes the bed.

# counter_trace HOST LABEL: one line per reading, both ways the harness reads the counter
# (docker exec, then the upper dir), with the time; `docker exec` that fails or hangs
# (it runs the container's own cat) is told from a process that stopped writing.
counter_trace() {
  local host=$1 upper
  upper=$(dk "$host" inspect -f '{{.GraphDriver.Data.UpperDir}}' "$container" 2>/dev/null || true)
  printf '%s %s exec=%s upper=%s\n' "$(date -u +%T.%N | cut -c1-12)" "$2" \
    "$(timeout 10 "$TESTBED" docker "$host" exec "$container" cat /tmp/count 2>&1 | tr '\n' ' ')" \
    "$(cat "$upper/tmp/count" 2>&1 | tr '\n' ' ')"
}

# pid_ns_members PID: every process in PID's pid namespace (the container's).
pid_ns_members() {
  local ns proc
  ns=$(readlink "/proc/$1/ns/pid" 2>/dev/null) || return 0
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/ns/pid" 2>/dev/null)" != "$ns" ] || echo "${proc#/proc/}"
  done
}

# process_state PID: the kernel's view of one process: is it running, stopped, traced,
# frozen (wchan __refrigerator), waiting on a fault (a userfaultfd it holds)?
process_state() {
  local pid=$1
  echo "== pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  grep -E '^(Name|State|Tgid|NSpid|PPid|TracerPid|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|voluntary_ctxt_switches|nonvoluntary_ctxt_switches):' \
    "/proc/$pid/status" 2>/dev/null || true
  echo "wchan: $(cat "/proc/$pid/wchan" 2>/dev/null)"
  echo "syscall: $(cat "/proc/$pid/syscall" 2>/dev/null)"
  echo "stack:"; sed 's/^/  /' "/proc/$pid/stack" 2>/dev/null || true
  echo "fds: $(find "/proc/$pid/fd" -mindepth 1 -printf '%f->%l ' 2>/dev/null)"
  echo "cgroups:"; sed 's/^/  /' "/proc/$pid/cgroup" 2>/dev/null || true
}

# freezer_state PID: the v1 freezer cgroup PID is in (runc's checkpoint freezes the
# container through it), or the v2 cgroup.freeze.
freezer_state() {
  local path file
  path=$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$1/cgroup" 2>/dev/null)
  if [ -n "$path" ]; then
    for file in freezer.state freezer.self_freezing freezer.parent_freezing; do
      echo "freezer$path/$file: $(cat "/sys/fs/cgroup/freezer$path/$file" 2>&1)"
    done
  fi
  path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup" 2>/dev/null)
  [ -z "$path" ] || [ ! -e "/sys/fs/cgroup/unified$path/cgroup.freeze" ] ||
    echo "unified$path/cgroup.freeze: $(cat "/sys/fs/cgroup/unified$path/cgroup.freeze" 2>&1)"
}

# restore_logs HOST ID DIR: the CRIU and runc logs dockerd's host keeps for container ID
# (its checkpoints and dockmig's dirs under the data root, containerd's bundle under the
# exec root), copied into DIR with their paths flattened.
restore_logs() {
  local root log
  root=$(dk "$1" info -f '{{.DockerRootDir}}' 2>/dev/null) || return 0
  { find "$root/containers/$2" -name '*.log' 2>/dev/null || true
    find "$BED_STATE/$1/exec" -path "*$2*" \( -name '*.log' -o -name log.json \) 2>/dev/null || true; } |
    while read -r log; do cp "$log" "$3/$(echo "${log#/}" | tr / _)" 2>/dev/null || true; done
}

# keep_evidence HOST: all of the above for the cell's container on HOST, into
# $out/cells/$cell_id.evidence/, plus the cell's `dockmig migrate` report. What cannot be
# read is skipped: the harness (set -e) must go on to judge and clean up.
keep_evidence() {
  (set +e +o pipefail; collect_evidence "$1" "$out/cells/$cell_id.evidence")
  note+="evidence in $out/cells/$cell_id.evidence; "
}
collect_evidence() {
  local host=$1 dir=$2 pid id member
  mkdir -p "$dir"
  for _ in 1 2 3; do counter_trace "$host" kept || true; sleep 1; done >>"$dir/counter.txt"
  dk "$host" inspect "$container" >"$dir/inspect-$host.json" 2>&1 || true
  pid=$(dk "$host" inspect -f '{{.State.Pid}}' "$container" 2>/dev/null || echo 0)
  id=$(dk "$host" inspect -f '{{.Id}}' "$container" 2>/dev/null || true)
  {
    echo "docker: $(dk "$host" inspect -f 'Status={{.State.Status}} Running={{.State.Running}} Paused={{.State.Paused}} Pid={{.State.Pid}} StartedAt={{.State.StartedAt}}' "$container" 2>&1)"
    freezer_state "$pid"
    for member in $(pid_ns_members "$pid"); do process_state "$member"; done
  } >"$dir/processes-$host.txt" 2>&1
  [ -z "$id" ] || restore_logs "$host" "$id" "$dir" || true
  cp "$report" "$dir/migrate-report.json" 2>/dev/null || true
  cp /etc/criu/runc.conf "$dir/runc.conf-after" 2>/dev/null || true
}
