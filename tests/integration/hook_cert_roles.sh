# Certificates carry their role (issue 12, item 4): a gateway's certificate from
# `dockmig certs --gateways` is refused on an agent's migration link, with a clear error at
# the source (exit 2, nothing frozen) and in the agent's log; the HTTP API still takes it;
# and the agent then serves a migration from an agent's certificate.
source "$(dirname "$0")/hook_lib.sh"
start_counter edge-a hook-roles
start_hook_agent edge-b

gateway_tls=(--tls-cert "$certs/gateway.pem" --tls-key "$certs/gateway-key.pem" --tls-ca "$certs/ca.pem")
migrate_tls edge-a edge-b hook-roles "${gateway_tls[@]}"
[ "$migrate_status" = 2 ] || fail "the migration with a gateway's certificate exited $migrate_status, not 2"
grep -q "accepts only agent certificates" "$errors" || fail "the source's error does not say why: $(cat "$errors")"
running edge-a hook-roles || fail "hook-roles no longer runs on edge-a"
exists edge-b hook-roles && fail "edge-b has the container"
grep -q "refused a link from .* (gateway): its certificate is a gateway's" "$hook_dir/agent-edge-b.log" \
  || fail "the agent did not log why it refused"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent died"

code=$(in_ns edge-a curl -s -o /dev/null -w '%{http_code}' --cacert "$certs/ca.pem" --cert "$certs/gateway.pem" \
  --key "$certs/gateway-key.pem" "https://$EDGE_B_ADDR:$hook_api_port/v1/containers") || true
[ "$code" = 200 ] || fail "the API answered the gateway's certificate with $code, not 200"

migrate_tls edge-a edge-b hook-roles
[ "$migrate_status" = 0 ] || fail "the migration with edge-a's certificate failed (exit $migrate_status)"
running edge-b hook-roles || fail "hook-roles does not run on edge-b"
pass "a gateway's certificate refused on the agent link (exit 2), accepted by the API; then a migration"
