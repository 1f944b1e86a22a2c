# A counter container on edge-a is checkpointed with CRIU through Docker and restored on
# edge-a: its count carries on from where it stopped instead of starting from zero.
source "$(dirname "$0")/lib.sh"
dk edge-a run -d --name counter-ckpt --label "$label" "$IMAGE_TINY" sh -c "$counter_cmd" >/dev/null
wait_until 10 count_at_least edge-a counter-ckpt 20 \
  || fail "the counter did not reach 20"
under_runc_conf_lock dk edge-a checkpoint create counter-ckpt c1 >/dev/null || fail "checkpoint failed"
[ "$(dk edge-a inspect -f '{{.State.Running}}' counter-ckpt)" = false ] || fail "still running after checkpoint"
before=$(count_of edge-a counter-ckpt)
step "count at checkpoint: $before"
under_runc_conf_lock restore_checkpoint edge-a counter-ckpt c1 || fail "restore failed"
sleep 1
after=$(count_of edge-a counter-ckpt)
step "count one second after restore: $after"
[ "$after" -gt "$before" ] || fail "count $after after restore is not past $before: it restarted"
pass "counter $before -> $after"
