# dockerd stays the owner of a migrated container, by each checkpoint path: Docker's own
# (a busybox counter, whose first pre-copy round is under 32 MiB) and CRIU's page server
# (memwriter with 40 MiB). For each path the same container is first handed off with a
# destination that fails at the last step, then handed off, then stopped and restarted
# at the destination (docker_state_lib.sh says what each case checks; the lazy restore is
# migrate_docker_state_lazy.sh's).
source "$(dirname "$0")/docker_state_lib.sh"
start_agent_b

# run_path PATH NAME IMAGE COMMAND [MIGRATE ARGS OF THE ROLLBACK...]
run_path() {
  local path=$1 name=$2 started=$SECONDS; shift 2
  start_service "$name" "$1" "$2"; shift 2
  rollback_case "$path" "$name" "$@"
  handoff_case "$path" edge-a edge-b "$name"
  stop_restart_case "$path path, handoff" edge-b "$name" "$pid" "$last_logged"
  pass "$path path in $((SECONDS - started)) s"
}

run_path docker mig-state-docker "$IMAGE_TINY" "$ticker"
# The rollback dumps by stop-and-copy (no pre-copy rounds: also the page server), the
# handoff by pre-copy with a first round of 40 MiB.
memwriting=true
run_path page-server mig-state-pages "$memwriter_image" "/memwriter 40 50 & $ticker" --mode stop-and-copy
pass "both checkpoint paths"
