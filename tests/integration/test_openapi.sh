#!/usr/bin/env bash
# test_openapi: docs/api/openapi.yaml is a valid OpenAPI 3 document (checked by the
# @apidevtools/swagger-parser validator, pinned in tests/api/package-lock.json) and matches a
# running sealboxd (tests/api/check_openapi.mjs).
set -uo pipefail
SEALBOX=${SEALBOX:?path to the sealbox binary}
BIN=$(dirname "$SEALBOX")
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v node >/dev/null || { echo "node missing (scripts/deps.sh)"; exit 1; }
if [ ! -d "$top/tests/api/node_modules/@apidevtools/swagger-parser" ]; then
  (cd "$top/tests/api" && npm ci --no-audit --no-fund --silent) || { echo "npm ci failed"; exit 1; }
fi
T=$(mktemp -d /tmp/sealbox-openapi.XXXXXX)
D=$T/state
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" # the front runs under seccomp
"$SEALBOX" admin --state-dir "$D" tenant create t >/dev/null || exit 1
KEY=$("$SEALBOX" admin --state-dir "$D" key create t 2>/dev/null)
sqlite3 "$D/sealbox.db" "INSERT INTO sandboxes (id, tenant_id, state, config, memory_mb, created, updated) VALUES ('sbx_doc', 1, 'running', '{\"image\":\"default\"}', 256, 1, 1);" || exit 1
# its measurement log's first two events, as the monitor stores them (canonical JSON)
CFGD=sha384:$(printf '{}' | sha384sum | cut -d' ' -f1)
sqlite3 "$D/sealbox.db" "INSERT INTO sandbox_log (sandbox_id, tenant_id, seq, event) VALUES
  ('sbx_doc', 1, 0, '{\"digest\":\"mutable:host-usr\",\"seq\":0,\"type\":\"image\"}'),
  ('sbx_doc', 1, 1, '{\"digest\":\"$CFGD\",\"seq\":1,\"type\":\"config\"}');" || exit 1
"$BIN/sealboxd" --kbs --state-dir "$D" --log-file "$D/log" &
PID=$!
for _ in $(seq 100); do
  curl -sf --unix-socket "$D/sealboxd.sock" http://s/v1/health >/dev/null && break
  sleep 0.1
done
node "$top/tests/api/check_openapi.mjs" "$top/docs/api/openapi.yaml" "$D/sealboxd.sock" "$KEY" sbx_doc
rc=$?
kill -TERM "$PID"; wait "$PID"; PID=
exit $rc
