# Lazy (post-copy) restore through Docker: `--restore lazy` has the destination start a
# `criu lazy-pages` daemon over the images it assembled and lend runc.conf `lazy-pages`
# for the restore, so the container runs before its memory is in and the daemon fills it
# behind it. The memwriter gives pages back to the kernel as it runs (as malloc's free
# does), so the daemon drops some uncopied; it then proves every page of its region intact
# and its write count carried on; the source is removed only after the daemon copied every page. A destination
# whose CRIU cannot (no non-cooperative userfaultfd) restores eagerly and says why; a lazy
# restore whose daemon cannot serve the pages fails, leaves no copy there, and the source
# resumes.
source "$(dirname "$0")/lib.sh"
conf_before=$(cat "$runc_conf" 2>/dev/null || echo absent)
wrap_dir=$(mktemp -d)
trap 'stop_agents; cleanup_containers; rm -f "$report" "$errors"; rm -rf "$wrap_dir"; "$TESTBED" rate 5mbit >/dev/null 2>&1 || true' EXIT
"$TESTBED" rate 100mbit >/dev/null

# The destinations' CRIU, as $wrap_dir/mode says: pass (the bed's CRIU), no-uffd (its
# `check --feature uffd-noncoop` fails) or no-pages (lazy-pages reads a copy of the images
# without the page images, so it cannot fill the memory).
cat >"$wrap_dir/criu" <<WRAP
#!/bin/bash
mode=\$(cat "$wrap_dir/mode")
if [ "\$mode" = no-uffd ] && [ "\$*" = "check --feature uffd-noncoop" ]; then echo "uffd-noncoop is not supported" >&2; exit 1; fi
if [ "\$mode" = no-pages ] && [ "\$1" = lazy-pages ]; then
  args=("\$@")
  for i in "\${!args[@]}"; do
    if [ "\${args[\$i]}" = --images-dir ]; then
      copy="$wrap_dir/images"; rm -rf "\$copy"; mkdir -p "\$copy"
      for f in "\${args[\$((i + 1))]}"/*; do case \$(basename "\$f") in pages-*) ;; *) cp -a "\$f" "\$copy/" ;; esac; done
      args[\$((i + 1))]=\$copy
    fi
  done
  exec "$CRIU" "\${args[@]}"
fi
exec "$CRIU" "\$@"
WRAP
chmod +x "$wrap_dir/criu"
echo pass >"$wrap_dir/mode"
start_agent edge-a --store-budget 0 --criu "$wrap_dir/criu"
start_agent edge-b --store-budget 0 --criu "$wrap_dir/criu"

mib=64 pages=$((64 * 256))
start_memwriter mig-lazy $mib 50 200
verified() { memwriter_verified "$1" mig-lazy; }
restore_field() { field "['restore']['$1']"; }

step "edge-a -> edge-b, restored lazily"
before=$(count_of edge-a mig-lazy)
migrate edge-a edge-b mig-lazy --restore lazy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(restore_field mode)" = lazy ] || fail "restored $(restore_field mode): $(restore_field fallback)"
lazy_pages=$(restore_field lazy_pages) fill=$(restore_field lazy_fill_seconds)
step "downtime $(field "['downtime_seconds']") s; the daemon filled $lazy_pages pages in $fill s after the restore"
discards=$(dk edge-b exec mig-lazy cat /tmp/discards)
[ $((lazy_pages + discards)) -ge "$pages" ] \
  || fail "the daemon copied $lazy_pages pages and memwriter gave up $discards, the region alone has $pages"
! exists edge-a mig-lazy || fail "the source is still on edge-a"
id=$(dk edge-b inspect -f '{{.Id}}' mig-lazy) root=$(dk edge-b info -f '{{.DockerRootDir}}')
[ ! -e "$root/containers/$id/dockmig-lazy" ] || fail "the lazy-pages work dir is left at edge-b"
[ -z "$(ls -A "$root/containers/$id/checkpoints" 2>/dev/null)" ] || fail "the checkpoint is left at edge-b"
answer=$(verified edge-b)
step "edge-b: $answer"
[[ $answer == ok* ]] || fail "the memory at edge-b is not intact: $answer"
after=$(count_of edge-b mig-lazy)
[ "$after" -gt "$before" ] || fail "the write count did not carry on ($before -> $after)"
# Other beds on this host lend runc.conf too (under its lock): the check waits for theirs.
wait_until 15 runc_conf_as_before "$conf_before" || fail "$runc_conf is not as it was before the migration"

step "edge-b -> edge-a, whose CRIU lacks non-cooperative userfaultfd: restored eagerly"
echo no-uffd >"$wrap_dir/mode"
migrate edge-b edge-a mig-lazy --restore lazy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
[ "$(restore_field mode)" = eager ] || fail "restored $(restore_field mode) on a host without uffd-noncoop"
fallback=$(restore_field fallback)
step "fallback: $fallback"
[[ $fallback == *uffd-noncoop* ]] || fail "the report does not say why it restored eagerly: $fallback"
answer=$(verified edge-a)
[[ $answer == ok* ]] || fail "the memory at edge-a is not intact after the eager fallback: $answer"

step "edge-a -> edge-b, whose lazy-pages daemon cannot read the pages: the source resumes"
# (CRIU's restore then fails when the daemon hangs up: "criu failed: type NOTIFY".)
echo no-pages >"$wrap_dir/mode"
before=$(count_of edge-a mig-lazy)
migrate edge-a edge-b mig-lazy --restore lazy
[ "$migrate_status" = 1 ] || fail "dockmig migrate exited $migrate_status, not 1 (failed, the source runs)"
grep -q 'lazy-pages\|restor' "$errors" || fail "the error does not name the restore"
[ "$(field "['rolled_back']")" = True ] || fail "the report does not say the source was resumed"
running edge-a mig-lazy || fail "the source is not running after the failed lazy restore"
wait_until 20 sh -c "! '$TESTBED' docker edge-b inspect mig-lazy >/dev/null 2>&1" \
  || fail "the half-restored copy is left at edge-b"
wait_until 10 count_at_least edge-a mig-lazy $((before + 10)) || fail "the resumed source does not write"
answer=$(verified edge-a)
[[ $answer == ok* ]] || fail "the resumed source's memory is not intact: $answer"
# Other beds on this host lend runc.conf too (under its lock): the check waits for theirs.
wait_until 15 runc_conf_as_before "$conf_before" || fail "$runc_conf is not as it was before the migrations"
pass "lazy restore: $lazy_pages pages filled in $fill s behind the running container; eager fallback said why, a failed lazy restore rolled back"
