# The fleet over TLS: a second etcd in the cloud that serves https only and asks clients
# for a certificate of the bed's test CA (`dockmig certs`); an agent given --etcd-ca,
# --etcd-cert and --etcd-key registers there, `fleet ls` with them lists it, and without a
# client certificate, or without the CA, `fleet ls` fails with the endpoint named.
source "$(dirname "$0")/lib.sh"
cloud_addr=${ETCD#http://}; cloud_addr=${cloud_addr%:*}
tls_etcd=https://$cloud_addr:2381
dir=$BED_STATE/fleet-tls
rm -rf "$dir" && mkdir -p "$dir"
"$DOCKMIG" certs --dir "$dir/certs" --hosts "cloud=$cloud_addr,edge-a=$EDGE_A_ADDR" >/dev/null || fail "dockmig certs failed"
certs=$dir/certs
"$TESTBED" exec cloud etcd --name tls --data-dir "$dir/etcd" \
  --listen-client-urls "$tls_etcd" --advertise-client-urls "$tls_etcd" \
  --listen-peer-urls http://127.0.0.1:2382 --initial-advertise-peer-urls http://127.0.0.1:2382 \
  --initial-cluster tls=http://127.0.0.1:2382 --logger zap --log-level warn \
  --cert-file "$certs/cloud.pem" --key-file "$certs/cloud-key.pem" --trusted-ca-file "$certs/ca.pem" \
  --client-cert-auth >"$dir/etcd.log" 2>&1 &
tls_etcd_pid=$!
trap 'stop_agents; kill "$tls_etcd_pid" 2>/dev/null || true; wait "$tls_etcd_pid" 2>/dev/null || true; cleanup_containers; rm -f "$report" "$errors"' EXIT
client_tls=(--etcd-ca "$certs/ca.pem" --etcd-cert "$certs/edge-a.pem" --etcd-key "$certs/edge-a-key.pem")
fleet_ls() { in_ns edge-a "$DOCKMIG" fleet ls --etcd "$tls_etcd" "$@"; }
wait_until 20 fleet_ls "${client_tls[@]}" || fail "the TLS etcd does not answer at $tls_etcd: $(tail -n3 "$dir/etcd.log")"

step "an agent registers over TLS with a client certificate"
start_agent edge-a --etcd "$tls_etcd" "${client_tls[@]}" --name edge-a
edge_a_listed() { fleet_ls "${client_tls[@]}" --json | grep -q '"name": "edge-a"'; }
wait_until 10 edge_a_listed || fail "edge-a is not listed at $tls_etcd: $(tail -n3 "$BED_STATE/agent-edge-a.log")"
fleet_ls "${client_tls[@]}" | sed 's/^/    /'

step "without a client certificate, or without the CA, the fleet cannot be read"
fleet_ls --etcd-ca "$certs/ca.pem" 2>"$dir/no-cert.err" && fail "fleet ls without a client certificate succeeded"
grep -q "etcd at $tls_etcd" "$dir/no-cert.err" || fail "the error does not name the endpoint: $(cat "$dir/no-cert.err")"
fleet_ls 2>"$dir/no-ca.err" && fail "fleet ls without the CA succeeded"
grep -q -- "--etcd-ca" "$dir/no-ca.err" || fail "the error's hint does not mention --etcd-ca: $(cat "$dir/no-ca.err")"
step "refused: $(head -n1 "$dir/no-cert.err")"
pass "an agent registered at an https etcd that asks for client certificates; fleet ls needs them"
