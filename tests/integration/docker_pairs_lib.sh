# Counter migrations between the edges' Docker releases, on a bed of its own made here:
# shared by migrate_docker28.sh and tools/testbed/docker-matrix. Needs TESTBED and DOCKMIG.
# A bed that was up before is put back (with its rates) when the script ends, so that a
# test run among those of the `bed` fixture leaves them the bed they expect.
set -euo pipefail
bed_before=$("$TESTBED" env 2>/dev/null || true)

# bed_with RELEASE_A RELEASE_B: a fresh bed with these Docker releases on edge-a and edge-b.
bed_with() {
  "$TESTBED" up --docker "edge-a=$1,edge-b=$2" >/dev/null
  eval "$("$TESTBED" env)"
}

put_back_bed() {
  if [ -z "$bed_before" ]; then "$TESTBED" down >/dev/null 2>&1 || true; return 0; fi
  local rate cloud_rate
  rate=$(sed -n 's/^RATE=//p' <<<"$bed_before") cloud_rate=$(sed -n 's/^CLOUD_RATE=//p' <<<"$bed_before")
  "$TESTBED" up --rate "$rate" --cloud-rate "$cloud_rate" >/dev/null
}

# The first bed (pairs_first_bed, set by the caller) before lib.sh, which reads the bed's
# variables when it is sourced; an agent on each edge.
bed_with "${pairs_first_bed[@]}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'stop_agents; put_back_bed; rm -f "$report" "$errors"' EXIT
start_agent edge-a; start_agent edge-b

# next_bed RELEASE_A RELEASE_B: the bed again with other releases, and its agents.
next_bed() {
  stop_agents
  bed_with "$1" "$2"
  start_agent edge-a; start_agent edge-b
}

release_of() { local var; var=$(echo "${1^^}_DOCKER_RELEASE" | tr - _); echo "${!var}"; }

# start_counter HOST NAME bridge|networkless: the shell counter; a networkless one is made
# through the API (NetworkDisabled, which the docker CLI does not offer).
start_counter() {
  local host=$1 name=$2 kind=$3
  if [ "$kind" = bridge ]; then
    dk "$host" run -d --name "$name" --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
  else
    local var body
    var=$(echo "${host^^}_DOCKER" | tr - _)
    body=$(python3 -c 'import json, sys; print(json.dumps({"Image": sys.argv[1], "Cmd": ["sh", "-c", sys.argv[2]],
      "NetworkDisabled": True, "Labels": {"dockmig.test": sys.argv[3]}}))' "$IMAGE_TINY" "$counter_cmd" "$test_name")
    dk "$host" pull -q "$IMAGE_TINY" >/dev/null
    curl -sf --unix-socket "${!var#unix://}" -H 'Content-Type: application/json' -d "$body" \
      "http://docker/v1.41/containers/create?name=$name" >/dev/null
    dk "$host" start "$name" >/dev/null
  fi
  wait_until 10 count_at_least "$host" "$name" 20 || fail "the $kind counter did not start on $host"
}

# try_pair FROM TO KIND: migrates a fresh counter from FROM to TO. Sets pair_outcome to
# migrated (it runs at TO and counts on from its value), refused (the source still runs,
# unfrozen, and TO has no copy) or failed, and pair_detail to the count or the error.
try_pair() {
  local from=$1 to=$2 kind=$3 name before
  name=pair-$kind-$from
  start_counter "$from" "$name" "$kind"
  migrate "$from" "$to" "$name"
  if [ "$migrate_status" = 0 ] && running "$to" "$name"; then
    sleep 1
    pair_outcome=migrated pair_detail="count $(count_of "$to" "$name"), downtime $(field "['downtime_seconds']") s"
    [ "$(count_of "$to" "$name")" -gt 20 ] || pair_outcome=failed
  elif running "$from" "$name" && ! exists "$to" "$name" && grep -q "cannot restore" "$errors"; then
    before=$(count_of "$from" "$name"); sleep 0.5
    pair_outcome=refused pair_detail=$(grep -m1 "cannot restore" "$errors" | sed 's/.*error: the peer: //')
    [ "$(count_of "$from" "$name")" -gt "$before" ] || pair_outcome=failed  # it must not be frozen
  else
    pair_outcome=failed pair_detail=$(head -c 400 "$errors" | tr '\n' ' ')
  fi
  dk "$from" rm -f "$name" >/dev/null 2>&1 || true
  dk "$to" rm -f "$name" >/dev/null 2>&1 || true
  echo "PAIR $(release_of "$from") -> $(release_of "$to") $kind: $pair_outcome ($pair_detail)"
}
