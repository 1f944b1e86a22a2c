# runc's masked dirs (/proc/acpi, /sys/firmware) between a dockmig on the host and an agent
# in a container (docs/design.md, "runc's masks of directories"): the agent container is in
# another mount namespace than its dockerd, so its `created` says it cannot map the masks'
# key, and the host's dump leaves them to CRIU's tar. A counter moves from edge-a (`dockmig
# migrate` on the host) to edge-b (the agent container) and carries on, one copy running;
# then back from edge-b's agent container to an agent on edge-a's host, whose own rule keeps
# the tars (the shim is in another mount namespace than the source). With
# DOCKMIG_AGENT_IMAGE_TAR an older agent's image: its `created` says nothing of the masks,
# which counts as cannot, and its report has no line on them.
source "$(dirname "$0")/agent_container_lib.sh"

load_agent_image edge-b
trap 'status=$?; [ $status = 0 ] || agent_logs edge-b; stop_agents; cleanup_containers; rm -f "$report" "$errors"' EXIT

# masks_of HOST CONTAINER: the masks' lines of the container's mountinfo.
masks_of() { dk "$1" exec "$2" grep -E ' /(proc/acpi|sys/firmware) ' /proc/self/mountinfo; }
# archived_masks HOST CONTAINER: its masks are tmpfs of their own (CRIU's tar), not binds
# of a host's empty tmpfs (dockmig-masked).
archived_masks() {
  local masks
  masks=$(masks_of "$1" "$2") || fail "$2 on $1 has no masked dirs"
  step "masks of $2 on $1: $(echo "$masks" | awk '{print $5, $9, $10}' | paste -sd ';')"
  echo "$masks" | grep -q dockmig-masked && fail "$2 on $1 has the host's tmpfs as its masks: $masks"
  return 0
}

mkdir -p "$hook_dir/state-edge-b"
run_agent_container edge-b
start_counter edge-a masks-web
wait_until 20 count_at_least edge-a masks-web 50 || fail "the counter did not reach 50 on edge-a"
before=$(count_of edge-a masks-web)

migrate_tls edge-a edge-b masks-web
[ "$migrate_status" = 0 ] || fail "dockmig migrate from edge-a's host to edge-b's agent container exited $migrate_status"
choice=$(field "['masked_dirs']")
step "report: $choice"
expected="runc's masked dirs archived by CRIU: the destination cannot map their key: its dockmig is in another mount namespace than its dockerd"
[ -z "${DOCKMIG_AGENT_IMAGE_TAR:-}" ] \
  || expected="runc's masked dirs archived by CRIU: the destination's dockmig does not say whether it can map their key"
[[ $choice == "$expected"* ]] || fail "the report's masked_dirs is not \"$expected...\": $choice"
carried_on edge-a edge-b masks-web "$before"
archived_masks edge-b masks-web
[ "$(dk edge-b ps -q --filter name=masks-web | wc -l)" = 1 ] || fail "edge-b does not run exactly one masks-web"
count=$after

# And back: `dockmig migrate` in edge-b's agent container to an agent on edge-a's host.
start_hook_agent edge-a
read -ra tls <<<"$(tls_for edge-b)"
dk edge-b exec dockmig-agent dockmig migrate masks-web "$EDGE_A_ADDR:$hook_link_port" --docker "$EDGE_B_DOCKER" \
  --state-dir "$hook_dir/state-edge-b" "${tls[@]}" --json >"$report" 2>"$errors" \
  || { sed 's/^/    stderr: /' "$errors"; fail "dockmig migrate in edge-b's agent container failed"; }
back_choice=$(field ".get('masked_dirs', '')")
step "report: ${back_choice:-(none: an older source)}"
[ -z "$back_choice" ] && [ -n "${DOCKMIG_AGENT_IMAGE_TAR:-}" ] \
  || [[ $back_choice == "runc's masked dirs archived by CRIU: the container's shim is in another mount namespace"* ]] \
  || fail "the way back's masked_dirs does not name the source's own rule: $back_choice"
carried_on edge-b edge-a masks-web "$count"
archived_masks edge-a masks-web
pass "host -> agent container and back, the masks archived both ways (the destination's answer, then the source's own rule), count $before, $count, then $after"
