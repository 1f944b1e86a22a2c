# dockerd stays the owner of a container restored lazily (`--restore lazy`: it runs before
# its memory is in, a `criu lazy-pages` daemon fills it behind; docs/design.md, "Lazy
# restore"), as migrate_docker_state.sh checks for the eager paths (docker_state_lib.sh
# says what each case checks). The service is the ticker with an 8 MiB memwriter beside
# it, small enough for Docker's checkpoint path and a fast fill; the threshold of
# `--restore auto` does not apply to `--restore lazy`.
# - A destination that fails at the last step after its lazy restore ran: the source is
#   resumed and right in dockerd's eyes, edge-b keeps no copy and no lazy-pages daemon.
# - A lazy handoff: the restored container is right in dockerd's eyes, its memory intact
#   and no process of it still holds a userfaultfd once the daemon is done.
# - That container, checkpointed by Docker, moves back (restored eagerly): a lazy restore
#   leaves nothing that breaks a later `docker checkpoint`.
# - Moved lazily once more, `docker stop` and `docker restart` work on it.
source "$(dirname "$0")/docker_state_lib.sh"
conf_before=$(cat "$runc_conf" 2>/dev/null || echo absent)
start_agent edge-a
start_agent_b
name=mig-state-lazy started=$SECONDS
memwriting=true
start_service "$name" "$memwriter_image" "/memwriter 8 50 & $ticker"

# restored HOW: the last migration's destination restored HOW (lazy or eager).
restored() {
  [ "$(field "['restore']['mode']")" = "$1" ] \
    || fail "the destination restored $(field "['restore']['mode']"), not $1: $(field "['restore']['fallback']")"
}
# uffd_holders HOST: the container's processes that hold a userfaultfd (docker top lists
# them; lib.sh's holding_userfaultfd reads every process on the host, slow on a busy one).
uffd_holders() {
  local pids proc
  pids=$(dk "$1" top "$name" -o pid | tail -n +2) && [ -n "$pids" ] || fail "docker top on $1 lists no process of $name"
  for proc in $pids; do
    if find "/proc/$proc/fd" -lname '*userfaultfd*' 2>/dev/null | grep -q .; then echo "$proc"; fi
  done
}
# memory_intact HOST: memwriter (not the container's init: SIGUSR1 would end the shell)
# checks every page of its region.
memory_intact() {
  local answer
  dk "$1" exec "$name" sh -c 'rm -f /tmp/verify; kill -USR1 $(pidof memwriter)'
  wait_until 10 dk "$1" exec "$name" test -s /tmp/verify || fail "memwriter on $1 did not answer"
  answer=$(dk "$1" exec "$name" cat /tmp/verify)
  [[ $answer == ok* ]] || fail "the memory on $1 is not intact: $answer"
  step "memwriter on $1: $answer"
}

rollback_case docker "$name" --restore lazy
restored lazy
daemon=$(cat "$work/lazy-daemon" 2>/dev/null || true)
[ -z "$daemon" ] || wait_until 10 gone "$daemon" \
  || fail "the lazy-pages daemon (pid $daemon) of edge-b's removed copy still runs"
step "edge-b's lazy-pages daemon: ${daemon:+pid $daemon, }gone"
memory_intact edge-a

handoff_case docker edge-a edge-b "$name" --restore lazy
restored lazy
lazy_pages=$(field "['restore']['lazy_pages']")
step "the daemon filled $lazy_pages pages in $(field "['restore']['lazy_fill_seconds']") s"
[ "$lazy_pages" -gt 0 ] || fail "the lazy restore's daemon copied no page"
holders=$(uffd_holders edge-b)
[ -z "$holders" ] || fail "processes of $name on edge-b still hold a userfaultfd after the fill: $holders"
memory_intact edge-b

handoff_case docker edge-b edge-a "$name"
restored eager
memory_intact edge-a

handoff_case docker edge-a edge-b "$name" --restore lazy
restored lazy
stop_restart_case "lazy restore" edge-b "$name" "$pid" "$last_logged"
# Other beds on this host lend runc.conf too (under its lock): the check waits for theirs.
wait_until 15 runc_conf_as_before "$conf_before" || fail "$runc_conf is not as it was before the migrations"
pass "lazy restore in $((SECONDS - started)) s: rollback, handoff, Docker's checkpoint back, stop and restart"
