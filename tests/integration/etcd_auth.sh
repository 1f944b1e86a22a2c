# The fleet on an etcd with auth enabled: a second etcd in the cloud with a root user and a
# `dockmig` user whose role covers only the fleet's prefix /dockmig/ (docs/fleet.md, "etcd
# with auth"), and simple tokens that expire after 1 s unused (--auth-token-ttl). Without
# a user `fleet ls` says etcd requires one; an agent with a wrong password fails at start
# naming etcd's answer; one with the right password registers, stays registered while its
# token expires, and then writes its record (it authenticates again); the client's calls,
# swap and watch get a new token after expiry (dockmig_etcd_tests' AuthEtcd cases). No
# password reaches a log.
source "$(dirname "$0")/lib.sh"
: "${DOCKMIG_ETCD_TESTS:?DOCKMIG_ETCD_TESTS must point to dockmig_etcd_tests (ctest sets it)}"
cloud_addr=${ETCD#http://}; cloud_addr=${cloud_addr%:*}
auth_etcd=http://$cloud_addr:2383
dir=$BED_STATE/etcd-auth
rm -rf "$dir" && mkdir -p "$dir"
"$TESTBED" exec cloud etcd --name auth --data-dir "$dir/etcd" \
  --listen-client-urls "$auth_etcd" --advertise-client-urls "$auth_etcd" \
  --listen-peer-urls http://127.0.0.1:2384 --initial-advertise-peer-urls http://127.0.0.1:2384 \
  --initial-cluster auth=http://127.0.0.1:2384 --logger zap --log-level warn \
  --auth-token simple --auth-token-ttl 1 >"$dir/etcd.log" 2>&1 &
auth_etcd_pid=$!
trap 'stop_agents; kill "$auth_etcd_pid" 2>/dev/null || true; wait "$auth_etcd_pid" 2>/dev/null || true; cleanup_containers' EXIT
etcdctl_as_root() { in_ns cloud etcdctl --endpoints "$auth_etcd" "$@"; }
wait_until 20 etcdctl_as_root endpoint health || fail "the auth etcd does not answer at $auth_etcd: $(tail -n3 "$dir/etcd.log")"

root_password=root-$RANDOM$RANDOM
agent_password=agent-$RANDOM$RANDOM
printf '%s\n' "$agent_password" >"$dir/agent.password"
printf 'not-%s\n' "$agent_password" >"$dir/wrong.password"
chmod 600 "$dir"/*.password
{
  etcdctl_as_root user add "root:$root_password"
  etcdctl_as_root role add dockmig
  etcdctl_as_root role grant-permission dockmig --prefix=true readwrite /dockmig/
  etcdctl_as_root user add "dockmig:$agent_password"
  etcdctl_as_root user grant-role dockmig dockmig
  etcdctl_as_root auth enable
} >"$dir/setup.log" 2>&1 || fail "setting up etcd's auth failed: $(tail -n3 "$dir/setup.log")"
as_agent=(--etcd-user dockmig --etcd-password-file "$dir/agent.password")
fleet_ls() { in_ns edge-a "$DOCKMIG" fleet ls --etcd "$auth_etcd" "$@"; }

step "without --etcd-user, fleet ls says that etcd requires a user"
fleet_ls 2>"$dir/no-user.err" && fail "fleet ls without a user succeeded on an etcd with auth"
grep -q "requires a user" "$dir/no-user.err" || fail "the error does not say a user is required: $(cat "$dir/no-user.err")"

step "an agent with a wrong password fails at start, naming etcd's answer"
set +e
in_ns edge-b timeout 30 "$DOCKMIG" serve --listen "$EDGE_B_ADDR:$agent_port" --docker "$EDGE_B_DOCKER" \
  --state-dir "$BED_STATE/agent-edge-b" --insecure --etcd "$auth_etcd" --name edge-b \
  --etcd-user dockmig --etcd-password-file "$dir/wrong.password" >"$dir/wrong.log" 2>&1
status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "the agent with a wrong password did not fail at start (exit $status)"
grep -q "etcd refused --etcd-user \`dockmig\`" "$dir/wrong.log" || fail "the error does not name the user: $(cat "$dir/wrong.log")"
grep -q "authentication failed" "$dir/wrong.log" || fail "the error does not give etcd's answer: $(cat "$dir/wrong.log")"
grep -q -- "--etcd-password-file" "$dir/wrong.log" || fail "the hint does not say what to check: $(cat "$dir/wrong.log")"
step "refused: $(grep -m1 'error' "$dir/wrong.log")"

step "an agent with the right password registers, and outlives its token's expiry"
# The agent's log is the bed's, appended to by every test before: only this agent's lines count.
log_from=$(($(wc -l <"$BED_STATE/agent-edge-a.log" 2>/dev/null || echo 0) + 1))
agent_log() { tail -n +"$log_from" "$BED_STATE/agent-edge-a.log"; }
start_agent edge-a --etcd "$auth_etcd" "${as_agent[@]}" --name edge-a --fleet-ttl 6
edge_a_listed() { fleet_ls "${as_agent[@]}" --json | grep -q '"name": "edge-a"'; }
wait_until 10 edge_a_listed || fail "edge-a is not listed at $auth_etcd: $(agent_log | tail -n3)"
# The lease's keep-alives (every 2 s, a third of --fleet-ttl) carry on without a valid
# token in etcd 3.4; a change of the record is a put, which needs one. 8 s is past the
# lease's TTL and the token's (1 s unused); a container started then makes the agent
# write its record with an expired token, so it must authenticate again.
sleep 8
edge_a_listed || fail "edge-a left the fleet while its token expired: $(agent_log | tail -n3)"
dk edge-a run -d --name auth-svc --label "$label" "$IMAGE_TINY" sleep 600 >/dev/null
lists_auth_svc() { fleet_ls "${as_agent[@]}" --json | grep -q '"auth-svc"'; }
wait_until 10 lists_auth_svc || fail "edge-a's record does not list auth-svc: $(agent_log | tail -n3)"
renewals=$(agent_log | grep -c "refused the token of user dockmig" || true)
[ "$renewals" -ge 1 ] || fail "the agent did not authenticate again after its token expired"
grep -q "fleet: lost etcd" <(agent_log) && fail "a write of the agent failed: $(agent_log | grep -m1 "fleet: lost etcd")"
fleet_ls "${as_agent[@]}" | sed 's/^/    /'

step "the client's calls and watches after the token expired"
in_ns edge-a env DOCKMIG_ETCD="$auth_etcd" DOCKMIG_ETCD_USER=dockmig DOCKMIG_ETCD_PASSWORD_FILE="$dir/agent.password" \
  "$DOCKMIG_ETCD_TESTS" --gtest_brief=1 --gtest_filter='AuthEtcd.*' || fail "dockmig_etcd_tests' AuthEtcd cases failed"

stop_agents
for file in "$BED_STATE/agent-edge-a.log" "$dir"/*.err "$dir/wrong.log"; do
  ! grep -q -e "$agent_password" -e "$root_password" "$file" || fail "a password is in $file"
done
pass "auth: a user is required, a wrong password fails at start, an agent outlives its token's expiry"
