#!/usr/bin/env bash
# test_openapi: docs/api/openapi.yaml is a valid OpenAPI 3 document (checked by the
# @apidevtools/swagger-parser validator, pinned in tests/api/package-lock.json) and matches a
# running sealboxd (tests/api/check_openapi.mjs).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v node >/dev/null || { echo "node missing (scripts/deps.sh)"; exit 1; }
"$top/scripts/npm-peers.sh" tests/api || exit 1
tmp_init openapi
no_leak_check_under_seccomp
tenant KEY t
sqlite3 "$D/sealbox.db" "INSERT INTO sandboxes (id, tenant_id, state, config, memory_mb, created, updated) VALUES ('sbx_doc', 1, 'running', '{\"image\":\"default\"}', 256, 1, 1);" || exit 1
# its measurement log's first two events, as the monitor stores them (canonical JSON)
CFGD=sha384:$(printf '{}' | sha384sum | cut -d' ' -f1)
sqlite3 "$D/sealbox.db" "INSERT INTO sandbox_log (sandbox_id, tenant_id, seq, event) VALUES
  ('sbx_doc', 1, 0, '{\"digest\":\"mutable:host-usr\",\"seq\":0,\"type\":\"image\"}'),
  ('sbx_doc', 1, 1, '{\"digest\":\"$CFGD\",\"seq\":1,\"type\":\"config\"}');" || exit 1
start_or_die --kbs
node "$top/tests/api/check_openapi.mjs" "$top/docs/api/openapi.yaml" "$SOCK" "$KEY" sbx_doc
rc=$?
stop
exit $rc
