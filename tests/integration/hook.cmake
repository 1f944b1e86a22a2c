# The gateway hook's tests (docs/api.md): the HTTP API and TLS between agents, on the bed.
# They share helpers in hook_lib.sh and use ports 7171 (links) and 8443 (API), so they do
# not meet the migrate_* tests' agents.
dockmig_integration_test(hook_handoff SECOND_BED)
dockmig_integration_test(hook_metrics SECOND_BED)
dockmig_integration_test(hook_bind_map SECOND_BED)
dockmig_integration_test(hook_idempotency SECOND_BED)
dockmig_integration_test(hook_auth SECOND_BED)
dockmig_integration_test(hook_tls SECOND_BED)
dockmig_integration_test(hook_cert_roles SECOND_BED)
dockmig_integration_test(hook_bad_requests SECOND_BED)
dockmig_integration_test(hook_prepare SECOND_BED TIMEOUT 600)
dockmig_integration_test(hook_prepare_restart SECOND_BED TIMEOUT 600)
