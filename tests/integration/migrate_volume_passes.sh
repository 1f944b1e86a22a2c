# A volume that the service rewrites while it crosses (docs/design.md, "Volumes and bind
# mounts"): like PostgreSQL's autovacuum, the container rewrites an 8 MiB file of its
# volume once, while the volume's first pass crosses the 5 Mbps link (about 14 s), and
# counts into another file all along. The catch-up passes must carry the rewrite before
# the freeze (what pass 1 did not read of it already): more than one pass, and only a
# small part of the file after the freeze. A second large file that nothing touches is
# signed once, after pass 1: a catch-up pass gets back only the signatures of the files it
# wrote. The volume at the destination is byte for byte the
# source's as the freeze left it (the source's volume stays in place after the handoff),
# and the count continues.
source "$(dirname "$0")/lib.sh"
cleanup_volumes() {
  for host in edge-a edge-b; do dk "$host" volume rm -f mig-passes-data >/dev/null 2>&1 || true; done
}
trap 'stop_agents; cleanup_containers; cleanup_volumes; rm -f "$report" "$errors" "$BED_STATE/$test_name.status"' EXIT
"$TESTBED" rate 5mbit >/dev/null
start_agent edge-b

dk edge-a volume create --label "$label" mig-passes-data >/dev/null
service='mkdir -p /vol/static && for n in 1 2 3; do echo "file $n" > /vol/static/$n; done
dd if=/dev/urandom of=/vol/big bs=1M count=8 2>/dev/null
seq 1 1200000 >/vol/still
i=0; while true; do
  i=$((i+1)); echo $i > /vol/count
  if [ -e /vol/rewrite ]; then rm /vol/rewrite; dd if=/dev/urandom of=/vol/big bs=1M count=8 conv=notrunc 2>/dev/null; fi
  sleep 0.1
done'
dk edge-a run -d --name mig-passes --label "$label" -v mig-passes-data:/vol "$IMAGE_TINY" sh -c "$service" >/dev/null
vol_count() { number_of dk "$1" exec mig-passes cat /vol/count; }
wait_until 20 eval '[ "$(vol_count edge-a 2>/dev/null || echo 0)" -ge 20 ]' || fail "the counter did not start"
first_big=$(dk edge-a exec mig-passes sha256sum /vol/big | cut -d' ' -f1)

# The destination makes the volume just before the source's presync begins; the rewrite
# comes a little later, while the volume's first pass is still on the link.
(migrate edge-a edge-b mig-passes; echo "$migrate_status" >"$BED_STATE/$test_name.status") &
job=$!
wait_until 60 dk edge-b volume inspect mig-passes-data || { wait "$job"; fail "edge-b never made the volume"; }
sleep 3
dk edge-a exec mig-passes touch /vol/rewrite
wait "$job"
migrate_status=$(cat "$BED_STATE/$test_name.status")
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-passes || fail "mig-passes does not run on edge-b"
count_continued "the volume" vol_count edge-b

passes=$(field "['volumes']['passes'].__len__()")
catch_up=$(field "['volumes']['passes'][1:] and sum(p['raw_bytes'] for p in r['volumes']['passes'][1:]) or 0")
after_freeze=$(field "['volumes']['after_freeze']['wire_bytes']")
step "volume passes: $passes ($(field "['volumes']['stop_reason']")); the catch-up passes $catch_up bytes raw; after the freeze $after_freeze bytes on the wire"
[ "$passes" -ge 2 ] || fail "only $passes pass(es) over the volume before the freeze"
# The rewrite may overlap pass 1's read of the file: then pass 1 carried part of it.
[ "$catch_up" -ge $((1 << 20)) ] || fail "the catch-up passes did not carry the rewrite ($catch_up bytes raw)"
[ "$after_freeze" -lt $((1 << 20)) ] || fail "$after_freeze bytes of the volume crossed after the freeze"
step "ok: the rewrite crossed in a catch-up pass, $after_freeze bytes after the freeze"

# What came back after each pass, beyond what the source sent: the signatures, and a few
# small messages. The last catch-up pass wrote only the count, so no large file's.
returned=$(field "['volumes']['passes'] and ' '.join(str(p['link_bytes'] - p['wire_bytes']) for p in r['volumes']['passes'])")
seconds=$(field "['volumes']['passes'] and ' '.join('%.1f' % p['seconds'] for p in r['volumes']['passes'])")
step "bytes back after each pass (signatures): $returned; seconds per pass: $seconds"
last_returned=${returned##* }
[ "$last_returned" -lt 8192 ] || fail "the last catch-up pass got $last_returned bytes back: signatures of files it did not write"

# The source's volume is as the freeze left it: the destination's must equal it, but for
# the count, which the restored container goes on writing.
tree_sums() { dk "$1" run --rm -v mig-passes-data:/vol "$IMAGE_TINY" sh -c 'cd /vol && find . -type f ! -name count | sort | xargs sha256sum'; }
at_source=$(tree_sums edge-a) at_destination=$(tree_sums edge-b)
[ -n "$at_source" ] && [ "$at_source" = "$at_destination" ] \
  || fail "the volumes differ: edge-a: $at_source; edge-b: $at_destination"
grep -q "$first_big" <<<"$at_source" && fail "the file was not rewritten before the freeze: the test proves nothing"
frozen_count=$(dk edge-a run --rm -v mig-passes-data:/vol "$IMAGE_TINY" cat /vol/count)
[ "$(vol_count edge-b)" -gt "$frozen_count" ] || fail "edge-b's count is not past the source's frozen $frozen_count"
step "ok: the volume at edge-b is the source's at the freeze (the rewritten file included), the count goes on from $frozen_count"
pass "$passes passes, $after_freeze bytes after the freeze"
