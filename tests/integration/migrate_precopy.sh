# Memory moves before the freeze. A service rewrites part of a 40 MiB region while it is
# handed off; pre-copy sends the region while it runs, and after the freeze only the pages
# written since the last round cross. The service then proves its whole region intact
# (every page matches the generation it last wrote) and its write count carried on. On the
# way back a damaged page-store entry at the destination is caught and sent again.
# dockmig lends runc.conf to CRIU's page server for each dump: it must be as it was after
# every migration, and an agent puts back one left changed by a dump that died.
source "$(dirname "$0")/lib.sh"
conf=/etc/criu/runc.conf
conf_before=$(cat "$conf" 2>/dev/null || echo absent)
put_back_conf() {
  rm -f "$conf.dockmig-saved"
  if [ "$conf_before" = absent ]; then rm -f "$conf"; else printf '%s\n' "$conf_before" >"$conf"; fi
}
trap 'stop_agents; cleanup_containers; put_back_conf; rm -f "$report" "$errors"; rm -rf "$app_dir"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
conf_unchanged() { [ "$(cat "$conf" 2>/dev/null || echo absent)" = "$conf_before" ] && [ ! -e "$conf.dockmig-saved" ]; }
"$TESTBED" rate 20mbit >/dev/null
start_agent edge-a
start_agent edge-b

app_dir=$(mktemp -d)
gcc -O2 -static -o "$app_dir/memwriter" "$(dirname "$0")/apps/memwriter.c" || fail "cannot build memwriter"
printf 'FROM %s\nCOPY memwriter /memwriter\n' "$IMAGE_TINY" >"$app_dir/Dockerfile"
DOCKER_BUILDKIT=0 dk edge-a build -q -t dockmig-test/memwriter:1 --label "$label" "$app_dir" >/dev/null \
  || fail "cannot build the memwriter image"
# 40 MiB: above the size from which the dump goes to CRIU's page server (32 MiB).
mib=40 pages=$((40 * 256))
dk edge-a run -d --name mig-precopy --label "$label" dockmig-test/memwriter:1 /memwriter $mib 50 >/dev/null
wait_until 15 count_at_least edge-a mig-precopy 100 || fail "memwriter did not start writing"

# verified HOST: asks the service to check its memory and prints its answer.
verified() {
  dk "$1" exec mig-precopy rm -f /tmp/verify
  dk "$1" kill -s USR1 mig-precopy >/dev/null
  wait_until 10 dk "$1" exec mig-precopy test -s /tmp/verify || { echo "no answer"; return; }
  dk "$1" exec mig-precopy cat /tmp/verify
}
memory_field() { field "['memory']$1"; }

step "edge-a -> edge-b, pre-copy"
before=$(count_of edge-a mig-precopy)
migrate edge-a edge-b mig-precopy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(memory_field "['mode']")" = pre-copy ] || fail "memory mode is $(memory_field "['mode']")"
[ "$(field "['checkpoint_path']")" = page-server ] || fail "the memory went through $(field "['checkpoint_path']")"
rounds=$(memory_field "['rounds'].__len__()")
sent=$(memory_field "['frozen_pages_sent']") known=$(memory_field "['frozen_pages_known']")
step "$rounds rounds ($(memory_field "['stop_reason']")); after the freeze $sent pages sent, $known already there"
[ "$rounds" -ge 1 ] || fail "no pre-copy round"
[ "$(memory_field "['rounds'][0]['pages_sent']")" -ge "$pages" ] || fail "round 1 did not send the region"
[ "$known" -ge $((pages * 9 / 10)) ] || fail "the destination had only $known pages from pre-copy"
[ "$sent" -lt $((known / 5)) ] || fail "$sent pages crossed after the freeze, not a fifth of the $known pre-copied"
answer=$(verified edge-b)
step "edge-b: $answer"
[[ $answer == ok* ]] || fail "the memory at edge-b is not intact: $answer"
after=$(count_of edge-b mig-precopy)
[ "$after" -gt "$before" ] || fail "the write count did not carry on ($before -> $after)"

step "edge-b -> edge-a, with a damaged page store at edge-a"
# Eight pages from the middle of the store: the region, not the often rewritten tables.
damage="for f in \$(find $BED_STATE/agent-edge-a -name pages.store); do
  dd if=/dev/urandom of=\$f bs=4096 seek=\$((\$(stat -c %s \$f) / 8192)) count=8 conv=notrunc status=none; done"
export DOCKMIG_HOOK_BEFORE_CHECKPOINT=$damage
migrate edge-b edge-a mig-precopy
unset DOCKMIG_HOOK_BEFORE_CHECKPOINT
[ "$migrate_status" = 0 ] || fail "the way back exited $migrate_status"
resent=$(memory_field "['frozen_pages_resent']")
step "pages sent again: $resent"
[ "$resent" -ge 1 ] || fail "the damaged store entries were not sent again"
answer=$(verified edge-a)
step "edge-a: $answer"
[[ $answer == ok* ]] || fail "the memory at edge-a is not intact: $answer"
step "edge-a -> edge-b, stop-and-copy: all memory after the freeze"
migrate edge-a edge-b mig-precopy --mode stop-and-copy
[ "$migrate_status" = 0 ] || fail "the stop-and-copy migration exited $migrate_status"
[ "$(memory_field "['mode']")" = stop-and-copy ] || fail "memory mode is $(memory_field "['mode']")"
[ "$(memory_field "['rounds'].__len__()")" = 0 ] || fail "stop-and-copy ran pre-copy rounds"
[ "$(memory_field "['frozen_pages_sent']")" -ge "$pages" ] || fail "stop-and-copy sent only $(memory_field "['frozen_pages_sent']") pages"
step "downtime $(field "['downtime_seconds']") s for $(memory_field "['frozen_pages_sent']") pages after the freeze"
answer=$(verified edge-b)
[[ $answer == ok* ]] || fail "the memory at edge-b is not intact after stop-and-copy: $answer"
conf_unchanged || fail "$conf is not as it was before the migrations"

step "an agent that starts puts back a runc.conf left changed by an interrupted dump"
mkdir -p /etc/criu
if [ "$conf_before" = absent ]; then echo '# dockmig: runc.conf did not exist' >"$conf.dockmig-saved"
else printf '%s\n' "$conf_before" >"$conf.dockmig-saved"; fi
printf 'page-server\naddress 127.0.0.1\nport 9\n' >"$conf"
stop_agents
start_agent edge-b
conf_unchanged || fail "the agent did not put $conf back: $(cat "$conf" 2>/dev/null)"
pass "$rounds rounds, $sent pages after the freeze, $resent re-sent on the way back, stop-and-copy intact"
