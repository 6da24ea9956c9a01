#!/usr/bin/env bash
# Checks ops/systemd/verteiler.service with systemd-analyze verify (run by .ci/run).
# verify also checks that ExecStart's program exists; rather than install into /usr/local/bin
# on the machine running the checks, a copy of the unit names the built binary instead. Every
# other line is checked as shipped.
#
#   ops/systemd/verify.sh                  # uses target/debug/verteiler
#   VERTEILER_BIN=path/to/verteiler ops/systemd/verify.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${VERTEILER_BIN:-target/debug/verteiler}")
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --bin verteiler first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^ExecStart=/usr/local/bin/verteiler |ExecStart=$bin |" ops/systemd/verteiler.service \
  > "$work/verteiler.service"
grep -q "^ExecStart=$bin " "$work/verteiler.service" || {
  echo "ops/systemd/verteiler.service: no ExecStart=/usr/local/bin/verteiler line" >&2
  exit 1
}
# verify exits 0 on an unknown key or a value it ignores; any word from it is a failure here.
said=$(systemd-analyze verify "$work/verteiler.service" 2>&1) || { echo "$said" >&2; exit 1; }
if [ -n "$said" ]; then
  echo "$said" >&2
  echo "ops/systemd/verteiler.service: systemd-analyze verify complained (above)" >&2
  exit 1
fi
echo "ops/systemd/verteiler.service: systemd-analyze verify passed"
