# The gateway hook's tests (docs/api.md): the HTTP API and TLS between agents, on the bed.
# They share helpers in hook_lib.sh and use ports 7171 (links) and 8443 (API), so they do
# not meet the migrate_* tests' agents.
dockmig_integration_test(hook_handoff)
dockmig_integration_test(hook_metrics)
dockmig_integration_test(hook_bind_map)
dockmig_integration_test(hook_idempotency)
dockmig_integration_test(hook_auth)
dockmig_integration_test(hook_tls)
dockmig_integration_test(hook_cert_roles)
dockmig_integration_test(hook_bad_requests)
dockmig_integration_test(hook_prepare TIMEOUT 600)
dockmig_integration_test(hook_prepare_restart TIMEOUT 600)
