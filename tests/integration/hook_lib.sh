# Shared by the hook_* tests (the gateway API, and TLS between agents): certificates made
# by `dockmig certs`, a token file, agents that serve the API, and curl against it from
# inside a host's namespace, as a gateway on that host would call it. Sources lib.sh, whose
# cleanup stops these agents too.
source "$(dirname "$0")/lib.sh"

hook_link_port=7171   # links between agents; the migrate_* tests use 7070
hook_api_port=8443
hook_dir=$BED_STATE/hook-$test_name
certs=$hook_dir/certs
tokens=$hook_dir/tokens
rm -rf "$hook_dir" && mkdir -p "$hook_dir"
"$DOCKMIG" certs --dir "$certs" --hosts "edge-a=$EDGE_A_ADDR,edge-b=$EDGE_B_ADDR" --gateways gateway >/dev/null \
  || fail "dockmig certs failed"
gateway_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# the test gateway\ngateway-1 %s\n' "$gateway_token" >"$tokens"
chmod 600 "$tokens"

var_of() { echo "${1^^}_$2" | tr - _; }
addr_of() { local v; v=$(var_of "$1" ADDR); echo "${!v}"; }
# tls_for HOST [DIR]: the --tls-* flags with HOST's certificate from DIR (default $certs).
tls_for() { local dir=${2:-$certs}; echo "--tls-cert $dir/$1.pem --tls-key $dir/$1-key.pem --tls-ca $dir/ca.pem"; }

# start_hook_agent HOST [SERVE ARGS...]: `dockmig serve` with the API on HOST. Without ARGS
# it uses TLS with HOST's certificate; ARGS replace that (e.g. another certificate, or
# --insecure). `hook_agent_env` (VAR=VALUE words) goes into its environment. Sets $agent_pid.
hook_agent_env=()
start_hook_agent() {
  local host=$1; shift
  local addr docker_var netns_var security=("$@")
  addr=$(addr_of "$host"); docker_var=$(var_of "$host" DOCKER); netns_var=$(var_of "$host" NETNS)
  [ ${#security[@]} -gt 0 ] || read -ra security <<<"$(tls_for "$host")"
  nsenter --net="/run/netns/${!netns_var}" -- env "${hook_agent_env[@]}" "$DOCKMIG" serve \
    --listen "$addr:$hook_link_port" --api "$addr:$hook_api_port" --tokens "$tokens" \
    --docker "${!docker_var}" --state-dir "$hook_dir/state-$host" "${security[@]}" \
    >>"$hook_dir/agent-$host.log" 2>&1 &
  agent_pid=$!
  agent_pids+=("$agent_pid")
  wait_until 10 in_ns "$host" bash -c "exec 3<>/dev/tcp/$addr/$hook_api_port" \
    || fail "the agent on $host did not start: $(tail -n3 "$hook_dir/agent-$host.log")"
}
# start_fleet_agents ARGS...: three agents in a fleet, with the HTTPS API and ARGS (e.g.
# --etcd URL): edge-a, edge-b, and edge-c, a second agent in edge-b's namespace on
# edge-b's dockerd with edge-b's certificate, its link and API on $c_link_port and
# $c_api_port (the bed has two edges). Writes the gateway's token for gw_handoff. Each
# gets `hook_agent_env` too.
c_link_port=7172 c_api_port=8444
start_fleet_agents() {
  local tls_a tls_b
  read -ra tls_a <<<"$(tls_for edge-a)"
  read -ra tls_b <<<"$(tls_for edge-b)"
  start_hook_agent edge-a "${tls_a[@]}" "$@" --name edge-a
  start_hook_agent edge-b "${tls_b[@]}" "$@" --name edge-b
  nsenter --net="/run/netns/$EDGE_B_NETNS" -- env "${hook_agent_env[@]}" "$DOCKMIG" serve --listen "$EDGE_B_ADDR:$c_link_port" \
    --api "$EDGE_B_ADDR:$c_api_port" --tokens "$tokens" --docker "$EDGE_B_DOCKER" --state-dir "$hook_dir/state-edge-c" \
    "${tls_b[@]}" "$@" --name edge-c >>"$hook_dir/agent-edge-c.log" 2>&1 &
  agent_pids+=($!)
  wait_until 10 in_ns edge-b bash -c "exec 3<>/dev/tcp/$EDGE_B_ADDR/$c_api_port" || fail "edge-c's agent did not start"
  printf '%s\n' "$gateway_token" >"$hook_dir/gateway.token"
}
# gw ARGS...: `dockmig fleet ARGS` as the gateway on edge-a; stdout in $report, stderr in
# $errors, the exit status in $gw_status.
gw() {
  gw_status=0
  in_ns edge-a "$DOCKMIG" fleet "$@" --etcd "$ETCD" >"$report" 2>"$errors" || gw_status=$?
}
gw_handoff() { gw handoff "$@" --token-file "$hook_dir/gateway.token" --tls-ca "$certs/ca.pem" --json; }
# stop_agent PID: stops one agent and waits for it.
stop_agent() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# api HOST METHOD PATH [CURL ARGS...]: calls HOST's API with $api_token (the gateway's;
# empty: no Authorization header). Sets $status to the HTTP code ("000" when there was no
# answer); the body is in $body_file.
api_token=$gateway_token
api_scheme=https
body_file=$hook_dir/body
api() {
  local host=$1 method=$2 path=$3; shift 3
  local auth=()
  [ -z "$api_token" ] || auth=(-H "Authorization: Bearer $api_token")
  status=$(in_ns "$host" curl -sS -o "$body_file" -w '%{http_code}' -X "$method" --max-time 30 \
    --cacert "$certs/ca.pem" "${auth[@]}" "$@" "$api_scheme://$(addr_of "$host"):$hook_api_port$path" \
    2>"$hook_dir/curl.err") || true
  [ -n "$status" ] || status=000
}
# post_json HOST PATH JSON [CURL ARGS...]
post_json() { local host=$1 path=$2 body=$3; shift 3; api "$host" POST "$path" -H 'Content-Type: application/json' -d "$body" "$@"; }
# body EXPR: a value from the last answer's JSON, e.g. body "['id']".
body() { python3 -c "import json,sys; b=json.load(open('$body_file')); print(b$1)"; }
expect_status() {  # expect_status CODE WHAT
  [ "$status" = "$1" ] || fail "$2: HTTP $status, expected $1: $(head -c 300 "$body_file" 2>/dev/null)"
  step "$2: HTTP $status"
}

# wait_handoff HOST ID SECONDS: polls until the handoff ended; its state is then in $state.
wait_handoff() {
  local host=$1 id=$2 deadline=$((SECONDS + $3))
  while true; do
    api "$host" GET "/v1/handoffs/$id"
    [ "$status" = 200 ] || fail "GET /v1/handoffs/$id: HTTP $status"
    state=$(body "['state']")
    case "$state" in succeeded|failed|rolled_back) return 0 ;; esac
    [ $SECONDS -lt $deadline ] || fail "handoff $id still $state after $3 s"
    sleep 0.5
  done
}

# handoff_via_api HOST CONTAINER DEST: hands CONTAINER off from HOST to DEST through the
# API and fails unless it succeeded; its status, with the report, is then in $body_file.
handoff_via_api() {
  post_json "$1" /v1/handoffs "{\"container\":\"$2\",\"destination\":\"$3\"}"
  expect_status 202 "POST /v1/handoffs for $2"
  wait_handoff "$1" "$(body "['id']")" 300
  [ "$state" = succeeded ] || fail "the handoff of $2 ended $state: $(body "['reason']")"
}

# migrate_tls FROM TO CONTAINER [ARGS...]: `dockmig migrate` from FROM's namespace to TO's
# hook agent with ARGS as its security flags (default: FROM's certificate). Like lib.sh's
# migrate: the report lands in $report, stderr in $errors, the exit code in $migrate_status.
migrate_tls() {
  local from=$1 to=$2 container=$3; shift 3
  local docker_var security=("$@")
  docker_var=$(var_of "$from" DOCKER)
  [ ${#security[@]} -gt 0 ] || read -ra security <<<"$(tls_for "$from")"
  migrate_status=0
  in_ns "$from" "$DOCKMIG" migrate "$container" "$(addr_of "$to"):$hook_link_port" --docker "${!docker_var}" \
    "${security[@]}" --json >"$report" 2>"$errors" || migrate_status=$?
  sed 's/^/    stderr: /' "$errors"
}

# carried_on FROM TO CONTAINER BEFORE: CONTAINER, handed off with a count of BEFORE, runs
# on TO and no more on FROM, and a second later counts past BEFORE there (it carried on,
# not restarted: BEFORE must be far enough). Sets $after.
carried_on() {
  local from=$1 to=$2 container=$3 before=$4
  running "$to" "$container" || fail "$container does not run on $to"
  exists "$from" "$container" && fail "$from still has $container"
  sleep 1
  after=$(count_of "$to" "$container")
  step "count $before on $from before the handoff, $after on $to one second after it"
  [ "$after" -gt "$before" ] || fail "the count restarted at $to ($after, was $before)"
}

# start_counter HOST NAME: the counting service of lib.sh, labelled for cleanup.
start_counter() {
  dk "$1" run -d --name "$2" --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
  wait_until 10 count_at_least "$1" "$2" 5 || fail "the counter $2 did not start on $1"
}
