# A service with a client connected at the freeze moves although /etc/criu/runc.conf asks
# nothing of CRIU (when no benchmark keeps the host's file in place meanwhile): dockmig lends tcp-close and skip-in-flight to its own dump (a plain
# `docker checkpoint` of the same container fails). The client's connection ends with the
# source (CRIU's tcp-close; the client learns it when it next sends, as after any host
# loss), it connects again at the destination, and the service's count carried on.
source "$(dirname "$0")/lib.sh"
needs_network "a client connected over TCP at the freeze"
# The file is the host's, shared with other beds and the benchmark: it is read and moved
# only under the lock dockmig's lends take, and away only for the plain checkpoint below.
conf_saved=$(mktemp -u) client_log=$(mktemp)
client=
conf_before=$(runc_conf_text)
put_back_conf() { (flock 9 && if [ -e "$conf_saved" ]; then mv "$conf_saved" "$runc_conf"; fi) 9>>"$runc_conf_lock"; }
trap '[ -n "$client" ] && kill "$client" 2>/dev/null; stop_agents; cleanup_containers; put_back_conf
      rm -f "$report" "$errors" "$conf_saved" "$client_log"' EXIT
start_agent edge-b

# Each connection gets the count, then stays open.
service='printf "#!/bin/sh\ncat /tmp/count\nexec sleep 600\n" >/answer && chmod +x /answer
i=0; (while true; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done) &
exec nc -ll -p 7000 -e /answer'
dk edge-a run -d --name tcp-busy --label "$label" -p 7000:7000 "$IMAGE_TINY" sh -c "$service" >/dev/null
first_count() { in_ns edge-b timeout 3 bash -c "exec 3<>/dev/tcp/$1/7000; head -n1 <&3"; }
wait_until 15 first_count "$EDGE_A_ADDR" || fail "the service does not answer on $EDGE_A_ADDR:7000"

in_ns edge-b bash -c "exec 3<>/dev/tcp/$EDGE_A_ADDR/7000; head -n1 <&3; cat <&3 >/dev/null; echo closed" \
  >"$client_log" 2>&1 &
client=$!
wait_until 10 grep -q . "$client_log" || fail "the client got no count"
established() { dk edge-a exec tcp-busy netstat -tn | grep -q ':7000 .*ESTABLISHED'; }
wait_until 5 established || fail "no established connection in the container"
# Under the lock, without the file: no lend of dockmig's, and no options of the host's.
probed=$( (flock 9 || exit 1
  if [ -e "$runc_conf" ]; then mv "$runc_conf" "$conf_saved"; fi
  dk edge-a checkpoint create --leave-running tcp-busy probe >/dev/null 2>&1 && echo succeeded || echo failed
  if [ -e "$conf_saved" ]; then mv "$conf_saved" "$runc_conf"; fi) 9>>"$runc_conf_lock")
[ "$probed" = failed ] || fail "a plain docker checkpoint of a container with a connected client $probed: this test proves nothing"
running edge-a tcp-busy || fail "the failed probe checkpoint stopped the service"
step "a client is connected; a plain docker checkpoint fails, as expected"
# Far enough along that a service started afresh could not reach it before the check.
count_past() { [ "$(first_count "$EDGE_A_ADDR")" -ge "$1" ]; }
wait_until 20 count_past 80 || fail "the service's count does not advance"
# One read can miss its 3 s on a busy machine (a CI run lost one): read until one answers.
read_before() { before=$(first_count "$EDGE_A_ADDR"); }
wait_until 15 read_before || fail "the service does not answer on $EDGE_A_ADDR:7000 any more"

migrate edge-a edge-b tcp-busy
[ "$migrate_status" = 0 ] || fail "dockmig migrate exited $migrate_status"
running edge-b tcp-busy || fail "tcp-busy does not run on edge-b"
exists edge-a tcp-busy && fail "the source container is still on edge-a"
after=$(first_count "$EDGE_B_ADDR") || fail "the service does not answer on $EDGE_B_ADDR:7000"
[ "$after" -gt "$before" ] || fail "the count went from $before to $after: the service restarted"
# Nothing of dockmig's lend left (what the host's file holds besides may change meanwhile:
# a benchmark on this host installs and removes its own).
lent_left() { (flock 9 && { [ -e "$runc_conf.dockmig-saved" ] || grep -q '^# dockmig: for one' "$runc_conf" 2>/dev/null; }) 9>>"$runc_conf_lock"; }
lent_left && fail "dockmig left a lend in $runc_conf: $(runc_conf_text)"
[ "$conf_before" = absent ] || step "(the host's $runc_conf was in place for the handoff: $(echo $conf_before))"
pass "count $before before the handoff, $after after it; the client connected again"
