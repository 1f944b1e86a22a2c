# A container with a listening TCP socket and a published port (busybox httpd serving a
# count) is checkpointed and restored on edge-a and answers again, from edge-b.
source "$(dirname "$0")/lib.sh"
serve='mkdir -p /www && httpd -p 80 -h /www && i=0; while true; do i=$((i+1)); echo $i > /www/index.html; sleep 0.1; done'
dk edge-a run -d --name web-ckpt --label "$label" -p 8080:80 "$IMAGE_TINY" sh -c "$serve" >/dev/null
url="http://$EDGE_A_ADDR:8080/"
wait_until 15 in_ns edge-b curl -sf "$url" || fail "httpd does not answer at $url"
before=$(number_of in_ns edge-b curl -sf "$url")
under_runc_conf_lock dk edge-a checkpoint create web-ckpt c1 >/dev/null || fail "checkpoint of a container with a TCP socket failed"
in_ns edge-b curl -sf -m 2 "$url" >/dev/null && fail "still answering while checkpointed"
under_runc_conf_lock restore_checkpoint edge-a web-ckpt c1 || fail "restore failed"
wait_until 15 in_ns edge-b curl -sf "$url" || fail "httpd does not answer after the restore"
after=$(number_of in_ns edge-b curl -sf "$url")
[ "$after" -ge "$before" ] || fail "count went back from $before to $after"
pass "answered $before before, $after after the restore"
