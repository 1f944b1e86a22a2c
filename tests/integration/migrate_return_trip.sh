# Repeat handoffs: a user moving back to an edge it just left sends only what changed
# since. A service with 48 MiB of incompressible memory (rewriting a few pages a second)
# goes edge-a -> edge-b -> edge-a: edge-a kept the pages of the container that left (its
# return cache, which outlives an agent restart), so the way back sends less than a fifth
# of the first trip's bytes, and the service proves its whole region intact at each hop.
# Then a damaged return-cache entry at edge-b is caught by its hashes: those pages are sent
# normally and the migration still succeeds, intact.
source "$(dirname "$0")/lib.sh"
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
"$TESTBED" rate 20mbit >/dev/null
# What earlier tests left in the caches would only make the first trip cheaper.
rm -rf "$BED_STATE/agent-edge-a/return-cache" "$BED_STATE/agent-edge-b/return-cache"
start_agent edge-a
start_agent edge-b

mib=48 pages=$((48 * 256))
start_memwriter mig-return $mib 20

verified() { memwriter_verified "$1" mig-return; }
cache_field() { field "['memory']['return_cache']['$1']"; }
# hop FROM TO: migrates and checks that the service carried on, its memory intact.
hop() {
  local before answer after
  before=$(count_of "$1" mig-return)
  migrate "$1" "$2" mig-return "${@:3}"
  [ "$migrate_status" = 0 ] || fail "$1 -> $2 exited $migrate_status"
  answer=$(verified "$2")
  [[ $answer == ok* ]] || fail "the memory at $2 is not intact: $answer"
  after=$(count_of "$2" mig-return)
  [ "$after" -gt "$before" ] || fail "the write count did not carry on at $2 ($before -> $after)"
  step "$1 -> $2: $(field "['bytes_total']") bytes on the link, downtime $(field "['downtime_seconds']") s" \
    "(checkpoint $(phase_field checkpoint seconds) s through $(field "['checkpoint_path']"), finalsync" \
    "$(phase_field finalsync seconds) s, restore $(phase_field restore seconds) s), return cache:" \
    "$(cache_field pages_offered) offered, $(cache_field pages_avoided) not sent; $answer"
}

step "edge-a -> edge-b: the whole region crosses"
hop edge-a edge-b
first=$(field "['bytes_total']")
[ "$(cache_field pages_offered)" = 0 ] || fail "edge-b had pages of a container it never held"
# Three quarters of the region are noise, which no compression shrinks.
[ "$first" -ge $((pages * 4096 * 3 / 4)) ] || fail "the first trip sent only $first bytes of a $mib MiB region"
[ -s "$BED_STATE/agent-edge-a/return-cache/index.json" ] || fail "edge-a kept no pages for the return"
grep -q '"container":"mig-return"' "$BED_STATE/agent-edge-a/return-cache/index.json" \
  || fail "edge-a's return cache has no entry for mig-return: $(cat "$BED_STATE/agent-edge-a/return-cache/index.json")"

step "the agents restart: the return cache is on disk"
stop_agents
start_agent edge-a
start_agent edge-b

step "edge-b -> edge-a: only what changed since crosses"
hop edge-b edge-a
second=$(field "['bytes_total']")
[ "$(cache_field pages_avoided)" -ge $((pages * 8 / 10)) ] \
  || fail "the return cache saved only $(cache_field pages_avoided) of the region's $pages pages"
[ $((second * 5)) -lt "$first" ] || fail "the way back sent $second bytes, not less than a fifth of the first trip's $first"

step "edge-a -> edge-b with a damaged return-cache entry at edge-b"
entry=$(find "$BED_STATE/agent-edge-b/return-cache" -name 'pages-*.img' -size +1M | head -1)
[ -n "$entry" ] || fail "edge-b kept no pages of mig-return when it left"
# Damaged in place: the page images there may be hard links, and the damage must show
# through the cache's own name.
dd if=/dev/urandom of="$entry" bs=4096 seek=$(($(stat -c %s "$entry") / 8192)) count=8 conv=notrunc status=none
hop edge-a edge-b
grep -q "pages of \`mig-return\` failed their hash" "$BED_STATE/agent-edge-b.log" \
  || fail "edge-b's agent did not catch the damaged pages"
offered=$(cache_field pages_offered)
[ "$offered" -ge $((pages * 8 / 10)) ] || fail "edge-b offered only $offered pages besides the damaged ones"
[ "$(cache_field pages_avoided)" -ge $((pages * 8 / 10)) ] || fail "the damaged entry's intact pages were not used"
pass "first trip $first bytes, way back $second bytes; a damaged cache entry caught, the handoff intact"
