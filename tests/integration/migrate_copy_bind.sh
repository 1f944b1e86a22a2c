# A bind-mounted host directory copied with --copy-bind (docs/design.md, "Volumes and
# bind mounts"):
# - refused before the freeze, the source running on and untouched, exit status 2: a
#   --copy-bind of a bind-mounted single file, naming the path and the reason;
# - a container counting into a bind-mounted directory moves with --copy-bind: the
#   directory is pre-copied, what changed after presync (a file changed, one deleted, one
#   made) crosses after the freeze; at edge-b the container's /data is a new directory
#   under edge-b's agent state dir (not the source's path), holding every file, and the
#   counter in it continued; the source's directory stays in place.
source "$(dirname "$0")/lib.sh"
need_fault_points
# Not under $BED_STATE, which is in /run: --copy-bind refuses paths under /run.
work=$(mktemp -d "/var/tmp/dockmig-$test_name.XXXXXX")
mkdir -p "$work/data"
echo one >"$work/settings" && dd if=/dev/urandom of="$work/data/blob" bs=1M count=2 2>/dev/null
trap 'stop_agents; cleanup_containers; rm -rf "$work" "$BED_STATE/agent-edge-b/binds"; rm -f "$report" "$errors"' EXIT
start_agent edge-b

data_count() { number_of dk "$1" exec mig-copy cat /data/count; }
data_count_at_least() { [ "$(data_count "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# ---- a single file: refused ----
dk edge-a run -d --name mig-copy-file --label "$label" -v "$work/settings:/settings" "$IMAGE_TINY" \
  sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a mig-copy-file 3 || fail "the file container's counter did not start"
migrate edge-a edge-b mig-copy-file --copy-bind "$work/settings"
refused "a --copy-bind of a single file" mig-copy-file "\`$work/settings\` is not a directory"
[ "$(cat "$work/settings")" = one ] || fail "the refused file was touched"
[ ! -e "$BED_STATE/agent-edge-b/binds" ] || fail "edge-b made a directory for a refused copy"

# ---- a directory: copied ----
service='echo before > /data/before; echo v1 > /data/changed; echo doomed > /data/doomed
i=0; while true; do i=$((i+1)); echo $i > /data/count; sleep 0.1; done'
dk edge-a run -d --name mig-copy --label "$label" -v "$work/data:/data" "$IMAGE_TINY" sh -c "$service" >/dev/null
wait_until 20 data_count_at_least edge-a 20 || fail "the counter did not start"

migrate edge-a edge-b mig-copy
refused "a bind mount without --bind-map or --copy-bind" mig-copy "--copy-bind $work/data"

change_after_presync='dk edge-a exec mig-copy sh -c "echo v2 > /data/changed; rm /data/doomed; echo late > /data/late"'
migrate_pausing source.before-checkpoint "$change_after_presync" -- edge-a edge-b mig-copy --copy-bind "$work/data/"
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status: $(cat "$errors")"
running edge-b mig-copy || fail "mig-copy does not run on edge-b"
count_continued "the copied directory" data_count edge-b

copy=$(dk edge-b inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Type}} {{.Source}}{{end}}{{end}}' mig-copy)
step "edge-b's /data: $copy"
case "$copy" in
  "bind $BED_STATE/agent-edge-b/binds/"*) ;;
  *) fail "/data on edge-b is not a bind of a directory under edge-b's agent state dir: $copy" ;;
esac
copy_dir=${copy#bind }
in_copy() { sh -c "cd '$copy_dir' && $2" || fail "$1 (checked in $copy_dir with: $2)"; step "ok: $1"; }
in_copy "a file written before presync" 'grep -qx before before && cmp -s blob "'"$work/data/blob"'"'
in_copy "a file changed after presync" 'grep -qx v2 changed'
in_copy "a file deleted after presync" '! test -e doomed'
in_copy "a file made after presync" 'grep -qx late late'
[ -d "$work/data" ] && [ -e "$work/data/late" ] || fail "the source's directory was removed"
presync=$(phase_field presync wire_bytes) finalsync=$(phase_field finalsync wire_bytes)
[ "$presync" -gt 2000000 ] && [ "$finalsync" -lt 1000000 ] \
  || fail "the directory's 2 MiB did not cross before the freeze (presync $presync, finalsync $finalsync bytes)"
step "ok: the directory crossed before the freeze: presync $presync bytes, finalsync $finalsync bytes"
pass "count $after in a copied bind mount"
