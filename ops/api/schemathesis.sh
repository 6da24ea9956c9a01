#!/usr/bin/env bash
# Property-based tests of the live API against its own OpenAPI document (schemathesis):
# starts `verteiler serve --demo` on free loopback ports with a database of its own (random
# directory pushes must not disturb anything else), makes tokens for the demo chair and the
# demo admin with `verteiler token create`, and lets schemathesis generate requests for every
# operation as each of them. Fails on any failed check.
#
#   ops/api/schemathesis.sh              # uses target/debug/verteiler (builds it if missing)
#   VERTEILER_BIN=path/to/verteiler ops/api/schemathesis.sh
#   ST_MAX_EXAMPLES=100 ops/api/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# Pinned in ops/api/requirements.txt; installed into target/ once (again when the pins change).
venv="$root/target/schemathesis/venv"
pins="$root/ops/api/requirements.txt"
if ! cmp -s "$pins" "$venv/installed-requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$pins"
  cp "$pins" "$venv/installed-requirements.txt"
fi

bin="${VERTEILER_BIN:-$root/target/debug/verteiler}"
[ -x "$bin" ] || cargo build --quiet --bin verteiler
bin=$(realpath "$bin")

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export VERTEILER_DATABASE__URL="sqlite://$work/api.db"
export VERTEILER_HTTP__LISTEN=127.0.0.1:0
export VERTEILER_SMTP__LISTEN=127.0.0.1:0
export RUST_LOG="${RUST_LOG:-error}"
unset VERTEILER_CONFIG
# Generated requests come in bursts; the per-token rate has tests of its own. (Only where the
# binary knows the key: an unknown key is a configuration error.)
if "$bin" config defaults 2>/dev/null | grep -q '^requests_per_minute'; then
  export VERTEILER_API__REQUESTS_PER_MINUTE=1000000
fi

# serve prints its addresses once the demo organisation exists and it listens.
mkfifo out
"$bin" serve --demo >out 2>"$work/serve.log" &
server_pid=$!
exec 3<out
base=""
while IFS= read -r -t 120 line <&3; do
  case "$line" in
    "verteiler: portal listening on "*) base=${line#verteiler: portal listening on }; break ;;
  esac
done
if [ -z "$base" ]; then
  echo "verteiler serve did not start:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
# Keep draining its output so it never blocks on a full pipe.
cat <&3 >/dev/null &

token() { "$bin" token create --member "$1" --name schemathesis --scopes "$2" 2>/dev/null; }
chair=$(token ole.brandt@example.org "send sends:read approve")
admin=$(token aylin.kaya@example.org "directory:sync admin")

status=0
for who in chair admin; do
  echo "=== schemathesis as the demo $who against $base/api/v1/openapi.json ==="
  "$venv/bin/st" run "$base/api/v1/openapi.json" \
    --header "Authorization: Bearer ${!who}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${ST_MAX_EXAMPLES:-30}" \
    --workers 2 \
    --seed 24 \
    --no-color \
    --report junit --report-dir "$root/target/schemathesis/report-$who" || status=1
done
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures (reports under target/schemathesis/)" >&2
fi
exit "$status"
