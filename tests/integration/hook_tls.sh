# Only an agent with a certificate of the CA, naming the address dialled, can receive a
# migration, and only a source with such a certificate can send one; plain TCP needs both
# ends to say --insecure. Each refusal leaves the container running at the source and
# nothing at the destination; the last, proper migration runs over TLS and says so, while
# twenty peers trickle their TLS handshake at the agent.
source "$(dirname "$0")/hook_lib.sh"
start_counter edge-a hook-tls
rogue=$hook_dir/rogue
"$DOCKMIG" certs --dir "$rogue" --hosts "edge-a=$EDGE_A_ADDR,edge-b=$EDGE_B_ADDR" >/dev/null || fail "dockmig certs"

expect_refused() {  # expect_refused WHAT PATTERN
  [ "$migrate_status" != 0 ] || fail "$1: the migration went through"
  grep -qi -- "$2" "$errors" || fail "$1: the error does not say \`$2\`"
  running edge-a hook-tls || fail "$1: hook-tls no longer runs on edge-a"
  exists edge-b hook-tls && fail "$1: edge-b has the container"
  step "$1: refused (exit $migrate_status): $(head -n1 "$errors")"
}

read -ra rogue_b <<<"$(tls_for edge-b "$rogue")"
start_hook_agent edge-b "${rogue_b[@]}"
migrate_tls edge-a edge-b hook-tls
expect_refused "an agent with a certificate of another CA" "certificate was refused"
# Through the API too: the handoff is accepted, then fails before anything is frozen.
start_hook_agent edge-a
api_handoff="{\"container\":\"hook-tls\",\"destination\":\"$EDGE_B_ADDR:$hook_link_port\"}"
post_json edge-a /v1/handoffs "$api_handoff"
expect_status 202 "POST /v1/handoffs towards the rogue agent"
wait_handoff edge-a "$(body "['id']")" 60
[ "$state" = failed ] || fail "the handoff to the rogue agent ended $state"
body "['reason']" | grep -qi "certificate" || fail "its reason does not name the certificate: $(body "['reason']")"
stop_agent "$agent_pid"
stop_agent "${agent_pids[0]}"
agent_pids=()

read -ra impostor <<<"$(tls_for edge-a)"   # the right CA, but edge-a's name
start_hook_agent edge-b "${impostor[@]}"
migrate_tls edge-a edge-b hook-tls
expect_refused "an agent with another host's certificate" "certificate was refused"
stop_agent "$agent_pid"

start_hook_agent edge-b
read -ra rogue_a <<<"$(tls_for edge-a "$rogue")"
rogue_a[5]=$certs/ca.pem   # the rogue source trusts the real CA; only the agent can stop it
migrate_tls edge-a edge-b hook-tls "${rogue_a[@]}"
expect_refused "a source with a certificate of another CA" "refused this host's certificate"
grep -q "client's certificate was refused" "$hook_dir/agent-edge-b.log" || fail "the agent did not say why it refused"
migrate_tls edge-a edge-b hook-tls --insecure
expect_refused "a plain source to a TLS agent" "accepts only TLS"
stop_agent "$agent_pid"

start_hook_agent edge-b --insecure
migrate_tls edge-a edge-b hook-tls
expect_refused "a TLS source to an --insecure agent" "insecure"
stop_agent "$agent_pid"

# Twenty peers, more than the agent's 16 handshake places, trickle a TLS ClientHello a
# byte every 5 s; the proper migration, started meanwhile, waits for its turn and goes
# through, and the agent drops each of them at its handshake deadline.
source "$(dirname "$0")/trickle_lib.sh"
start_hook_agent edge-b
drops_before=$(grep -c "dropped the link from" "$hook_dir/agent-edge-b.log" || true)
start_trickling "$EDGE_B_ADDR" "$hook_link_port" 20 tls
since=$(date +%s.%N)
migrate_tls edge-a edge-b hook-tls
[ "$migrate_status" = 0 ] || fail "the proper TLS migration failed (exit $migrate_status)"
[ "$(field "['transport']")" = tls ] || fail "the report's transport is $(field "['transport']"), not tls"
running edge-b hook-tls || fail "hook-tls does not run on edge-b"
grep -q "TLS link from .* (edge-a)" "$hook_dir/agent-edge-b.log" || fail "the agent did not log the source's name"
trickling_dropped "$since" "$hook_dir/agent-edge-b.log" "$drops_before"
grep -q "dropped the link from .*TLS handshake did not finish in time" "$hook_dir/agent-edge-b.log" \
  || fail "the agent does not say the trickling peers' TLS handshakes ran out of time"
pass "every wrong certificate refused; TLS migration with transport tls past twenty trickling peers"
