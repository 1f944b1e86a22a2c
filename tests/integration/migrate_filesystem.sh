# The writable layer's file-system edge cases survive a migration: a file deleted from an
# image layer stays deleted (whiteout), a replaced directory hides the image's (opaque),
# symlinks, hard links, modes, owners, xattrs, empty files, a file over 100 MB, and files
# changed or deleted after presync (between presync and checkpoint); a large incompressible
# file edited in place after presync travels as a small librsync delta.
source "$(dirname "$0")/lib.sh"
need_fault_points
start_agent edge-b
setup='set -e
rm /bin/vi                                   # whiteout of an image file
rm -rf /usr/share/dockmig && mkdir /usr/share/dockmig && echo fresh > /usr/share/dockmig/fresh  # opaque
mkdir -p /data/dir/sub
echo target > /data/target && ln -s /data/target /data/link
echo linked > /data/hard1 && ln /data/hard1 /data/hard2
echo mode > /data/mode && chmod 640 /data/mode && chmod 1751 /data/dir
echo owned > /data/owned && chown 1234:5678 /data/owned
: > /data/empty
yes dockmig-big-file | head -c 110000000 > /data/big
dd if=/dev/urandom of=/data/db bs=1M count=16 2>/dev/null
echo v1 > /data/changed && echo doomed > /data/doomed'
dk edge-a run -d --name mig-fs --label "$label" "$IMAGE_TINY" sh -c "$setup; sleep 100000" >/dev/null
wait_until 30 dk edge-a exec mig-fs test -f /data/doomed || fail "the setup did not finish"
upper_a=$(upper_dir_of edge-a mig-fs)
python3 -c "import os; os.setxattr('$upper_a/data/target', 'user.dockmig', b'kept')"
big_sum=$(md5sum <"$upper_a/data/big")

db_sum=$(mktemp)
change_after_presync() {
  dk edge-a exec mig-fs sh -c 'echo v2 > /data/changed; rm /data/doomed; echo new > /data/late
    printf PATCHED | dd of=/data/db bs=1 seek=5000000 conv=notrunc 2>/dev/null' \
    && md5sum <"$upper_a/data/db" >"$db_sum"
}
migrate_pausing source.before-checkpoint change_after_presync -- edge-a edge-b mig-fs
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b mig-fs || fail "mig-fs does not run on edge-b"

in_b() { dk edge-b exec mig-fs sh -c "$1"; }
check() { in_b "$2" >/dev/null 2>&1 || fail "$1 (checked with: $2)"; step "ok: $1"; }
check "whiteout: /bin/vi stays deleted" '! test -e /bin/vi && test -e /bin/sh'
check "opaque: the image's files in /usr/share/dockmig stay hidden" \
  '! test -e /usr/share/dockmig/readme && grep -qx fresh /usr/share/dockmig/fresh'
check "symlink" 'test "$(readlink /data/link)" = /data/target && grep -qx target /data/link'
check "hard link" 'test "$(stat -c %i /data/hard1)" = "$(stat -c %i /data/hard2)"'
check "modes" 'test "$(stat -c %a /data/mode)" = 640 && test "$(stat -c %a /data/dir)" = 1751'
check "owner" 'test "$(stat -c %u:%g /data/owned)" = 1234:5678'
check "empty file" 'test -f /data/empty && ! test -s /data/empty'
check "file changed after presync" 'grep -qx v2 /data/changed'
check "file deleted after presync" '! test -e /data/doomed'
check "file made after presync" 'grep -qx new /data/late'
upper_b=$(upper_dir_of edge-b mig-fs)
[ "$(md5sum <"$upper_b/data/big")" = "$big_sum" ] && [ "$(stat -c %s "$upper_b/data/big")" = 110000000 ] \
  || fail "the 110 MB file differs"
step "ok: 110 MB file, same checksum"
[ "$(md5sum <"$upper_b/data/db")" = "$(cat "$db_sum")" ] || fail "the 16 MB file edited after presync differs"
final=$(phase_field finalsync wire_bytes)
[ "$final" -lt 2000000 ] || fail "finalsync sent $final bytes: the 16 MB edit did not travel as a delta"
step "ok: 16 MB file edited after presync, same checksum; finalsync sent $final bytes"
rm -f "$db_sum"
[ "$(python3 -c "import os; print(os.getxattr('$upper_b/data/target', 'user.dockmig').decode())")" = kept ] \
  || fail "the xattr user.dockmig did not arrive"
step "ok: xattr"
pass
