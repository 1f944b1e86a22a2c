# Callers without valid credentials get 401 and nothing moves: no token, a wrong token,
# another scheme, a token revoked by editing the file and sending SIGHUP. The health check
# answers without credentials; the tokens never appear in the agent's log.
source "$(dirname "$0")/hook_lib.sh"
start_hook_agent edge-b
start_hook_agent edge-a
edge_a_agent=$agent_pid
start_counter edge-a hook-auth
request="{\"container\":\"hook-auth\",\"destination\":\"$EDGE_B_ADDR:$hook_link_port\"}"

api_token=""
post_json edge-a /v1/handoffs "$request"
expect_status 401 "POST without a token"
[ "$(body "['error']['status']")" = 401 ] || fail "the 401 has no JSON error"
api edge-a GET /v1/containers
expect_status 401 "GET /v1/containers without a token"
api edge-a GET /v1/health
expect_status 200 "GET /v1/health without a token"
api_token="not-the-token-$gateway_token"
post_json edge-a /v1/handoffs "$request"
expect_status 401 "POST with a wrong token"
api_token=""
post_json edge-a /v1/handoffs "$request" -H "Authorization: Basic $(printf 'gw:%s' "$gateway_token" | base64 -w0)"
expect_status 401 "POST with Basic credentials"
api_token=$gateway_token

# Revocation: the file now holds only a new gateway's token; SIGHUP makes it so.
new_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'gateway-2 %s\n' "$new_token" >"$tokens"
kill -HUP "$edge_a_agent"
wait_until 10 grep -q "reloaded 1 tokens" "$hook_dir/agent-edge-a.log" || fail "the agent did not reload its tokens"
post_json edge-a /v1/handoffs "$request"
expect_status 401 "POST with the revoked token"
api_token=$new_token
api edge-a GET /v1/containers
expect_status 200 "GET /v1/containers with the new token"
python3 -c "import json; c=json.load(open('$body_file'))['containers']; assert any(x['container']=='hook-auth' and x['movable'] for x in c), c" \
  || fail "/v1/containers does not list hook-auth as movable"
# A file that does not parse on reload leaves the tokens in force.
echo "broken line with too many fields" >"$tokens"
kill -HUP "$edge_a_agent"
wait_until 10 grep -q "kept the tokens in force" "$hook_dir/agent-edge-a.log" || fail "a bad token file was not reported"
api edge-a GET /v1/handoffs
expect_status 200 "the new token after a bad reload"
[ "$(body "['handoffs'].__len__()")" = 0 ] || fail "a handoff was made"

sleep 2
running edge-a hook-auth || fail "hook-auth no longer runs on edge-a"
exists edge-b hook-auth && fail "hook-auth reached edge-b"
grep -qF -e "$gateway_token" -e "$new_token" "$hook_dir"/agent-*.log && fail "a token appears in an agent's log"
pass "401 for each bad credential, nothing moved, tokens not logged"
