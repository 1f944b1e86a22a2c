# Names are bytes, and the list of deletions has no size limit: files whose names are not
# UTF-8, and 40,000 files with long names (a deleted list of about 8 MB, far over one
# 1 MiB frame), deleted after presync and before the freeze, are gone at the destination;
# a file whose name is not UTF-8 and that was not deleted arrives with its content; the
# counter carries on.
source "$(dirname "$0")/lib.sh"
need_fault_points
start_agent edge-b
files=40000
long=$(printf 'n%.0s' $(seq 200))
# Names are made inside the container with printf's octal escapes: Docker's API is JSON,
# and a name given on the command line would reach the container with U+FFFD in it.
setup="set -e
mkdir /many && cd /many
i=0; while [ \$i -lt $files ]; do : > $long\$i; i=\$((i+1)); done
echo doomed > \"\$(printf '/caf\\351')\"
echo kept > \"\$(printf '/na\\357ve')\"
: > /setup-done"
dk edge-a run -d --name mig-names --label "$label" "$IMAGE_TINY" sh -c "$setup; $counter_cmd" >/dev/null
wait_until 60 dk edge-a exec mig-names test -e /setup-done || fail "the setup did not finish"
wait_until 20 count_at_least edge-a mig-names 20 || fail "the counter did not start"
upper_a=$(upper_dir_of edge-a mig-names)
[ -e "$upper_a/caf"$'\xe9' ] && [ -e "$upper_a/na"$'\xefve' ] \
  || fail "the source's writable layer lacks the names with bytes that are not UTF-8"
[ "$(ls "$upper_a/many" | wc -l)" = "$files" ] || fail "the source's writable layer lacks the $files files"

delete_after_presync() {
  dk edge-a exec mig-names sh -c "rm \"\$(printf '/caf\\351')\" && cd /many && ls | xargs rm"
}
before=$(count_of edge-a mig-names)
migrate_pausing source.before-checkpoint delete_after_presync -- edge-a edge-b mig-names
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-names || fail "mig-names does not run on edge-b"
! exists edge-a mig-names || fail "the source container is still on edge-a"
raw=$(phase_field finalsync raw_bytes)
[ "$raw" -gt $((files * 200)) ] || fail "finalsync carried $raw raw bytes: the deleted list did not travel whole"
step "finalsync carried $raw raw bytes, the list of $files deleted paths among them"

in_b() { dk edge-b exec mig-names sh -c "$1"; }
check() { in_b "$2" >/dev/null 2>&1 || fail "$1 (checked with: $2)"; step "ok: $1"; }
check "the file named caf\\xe9, deleted after presync, is gone" "! test -e \"\$(printf '/caf\\351')\""
check "the $files files deleted after presync are gone" 'test -d /many && test "$(ls /many | wc -l)" = 0'
check "the file named na\\xefve arrived with its content" "grep -qx kept \"\$(printf '/na\\357ve')\""
upper_b=$(upper_dir_of edge-b mig-names)
[ -e "$upper_b/na"$'\xefve' ] && [ ! -e "$upper_b/caf"$'\xe9' ] && [ -z "$(ls "$upper_b/many")" ] \
  || fail "the destination's writable layer does not hold the names byte for byte"
step "ok: the destination's writable layer holds the names byte for byte"

now=$(count_of edge-b mig-names)
[ "$now" -gt "$before" ] || fail "the counter restarted: $now on edge-b, $before before the migration"
wait_until 10 count_at_least edge-b mig-names $((now + 5)) || fail "the counter stopped at $now on edge-b"
pass "names that are not UTF-8 and $files deletions after presync arrived; the counter went on from $before to $now"
