# Every setting of a container that is not the host's own is kept (issue 13, item 5): a
# container with labels, env, user, working dir, entrypoint and command, a healthcheck, a
# stop signal and timeout, a restart policy, cgroup limits, ulimits, dropped capabilities,
# security options, sysctls, a log config, a shm size, DNS and extra hosts is
# handed off, and `docker inspect` at the destination is compared with the source's field
# by field (tests/integration/settings_diff.py): a difference outside the table in
# docs/design.md ("Every setting kept") fails. The counter carries on and the healthcheck
# runs at the destination.
# Its restart policy (on-failure) is held at "no" from the freeze, or dockerd would start
# the checkpointed source afresh beside the destination's copy: a first handoff whose
# destination dies leaves the source resumed with its policy back, then one succeeds and
# the source is gone. A container run with --init is refused before the freeze.
source "$(dirname "$0")/lib.sh"
need_fault_points
work=$(mktemp -d)
trap 'stop_agents; cleanup_containers; rm -rf "$work" "$report" "$errors"' EXIT
start_agent edge-b
policy_of() { dk "$1" inspect -f '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' "$2"; }

dk edge-a run -d --init --name with-init --label "$label" "$IMAGE_TINY" sleep 600 >/dev/null
migrate edge-a edge-b with-init
[ "$migrate_status" = 2 ] || fail "--init: exit $migrate_status, expected 2 (refused)"
grep -q -- "--init" "$errors" || fail "--init: the refusal does not name --init"
running edge-a with-init || fail "--init: the source no longer runs"
step "--init refused: $(head -n1 "$errors")"

service='i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'
dk edge-a run -d --name settings --label "$label" \
  --label com.docker.compose.project=shop --label com.docker.compose.service=cart \
  --env MODE=edge --env "GREETING=hello world" --user 0:0 --workdir /tmp \
  --entrypoint /bin/sh --hostname cart-1 \
  --health-cmd 'test -s /tmp/count' --health-interval 1s --health-timeout 1s --health-retries 2 \
  --stop-signal SIGINT --stop-timeout 7 --restart on-failure:3 \
  --memory 64m --memory-reservation 32m --cpus 0.5 --cpu-shares 512 --pids-limit 64 \
  --ulimit nofile=512:1024 --cap-drop NET_RAW --security-opt no-new-privileges \
  --sysctl net.ipv4.ip_local_port_range='20000 30000' --log-opt max-size=1m --log-opt max-file=2 \
  --shm-size 16m --dns 10.0.0.53 --dns-search edge.example --add-host registry.edge:10.0.0.7 \
  --oom-score-adj 100 \
  "$IMAGE_TINY" -c "$service" >/dev/null || fail "cannot start the container"
wait_until 15 count_at_least edge-a settings 20 || fail "the counter did not start"
wait_until 15 bash -c "[ \"\$($TESTBED docker edge-a inspect -f '{{.State.Health.Status}}' settings)\" = healthy ]" \
  || fail "the healthcheck never passed at the source"
dk edge-a inspect settings >"$work/before.json"

agent=${agent_pids[-1]}
migrate_pausing source.before-finalsync \
  "$TESTBED docker edge-a inspect -f '{{.HostConfig.RestartPolicy.Name}}' settings >$work/held; kill -9 $agent; sleep 0.5" \
  -- edge-a edge-b settings
[ "$migrate_status" = 1 ] || fail "destination killed: exit $migrate_status, expected 1 (failed, source runs)"
[ "$(cat "$work/held")" = no ] || fail "the restart policy was $(cat "$work/held") while the source was checkpointed"
running edge-a settings || fail "destination killed: the source was not resumed"
[ "$(policy_of edge-a settings)" = on-failure:3 ] || fail "the resumed source's policy is $(policy_of edge-a settings)"
step "destination killed: the source resumed with its restart policy back"
start_agent edge-b   # a restarted agent removes what the killed one had made
wait_until 10 bash -c "! $DOCKER_CLI -H $EDGE_B_DOCKER inspect settings >/dev/null 2>&1" \
  || fail "edge-b still has the container after its agent restarted"

migrate edge-a edge-b settings
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b settings || fail "the container does not run on edge-b"
sleep 1  # dockerd's restart manager acts within a moment of the exit
exists edge-a settings && fail "the source is still on edge-a: $(dk edge-a inspect -f '{{.State.Status}}' settings)"
dk edge-b inspect settings >"$work/after.json"
python3 "$(dirname "$0")/settings_diff.py" "$work/before.json" "$work/after.json" \
  || fail "settings changed in the handoff (above)"
count=$(count_of edge-b settings)
[ "$count" -gt 20 ] || fail "the count restarted ($count)"
wait_until 15 bash -c "[ \"\$($TESTBED docker edge-b inspect -f '{{.State.Health.Status}}' settings)\" = healthy ]" \
  || fail "the healthcheck does not pass at the destination"
pass "every setting kept; count $count, healthy at the destination"
