#!/usr/bin/env bash
# Portal benchmark (issue 7): a signed-in member's "Lists and channels" page (/me/subscriptions)
# under load, with the 400,000-member demo organisation on SQLite, against /healthz of the same
# server as the ceiling (no database, no session). Both are measured with wrk, 64 connections.
# Target: p99 of the member page under 50 ms.
#
# The member signs in as a person does (ops/bench/portal_sign_in.py: form, link from the
# outbox, button); wrk then sends that session cookie with every request, so each request
# looks up the session and reads the member's lists, channels and units.
#
# Usage: ops/bench/portal.sh
#   env MEMBERS (default 400000), CONNECTIONS (64), THREADS (2), DURATION (20s).
#   CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../.."

members="${MEMBERS:-400000}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-2}"
duration="${DURATION:-20s}"
command -v wrk > /dev/null 2>&1 || {
  echo "installing wrk …"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null
}
source ops/bench/common.sh

cargo build --release --quiet --bin verteiler
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/verteiler"
export RUST_LOG=warn
export VERTEILER_DATABASE__URL="sqlite://$work/v.db"
export VERTEILER_DELIVERY__OUTBOX_DIR="$work/outbox"

echo "verteiler portal benchmark: $members members, SQLite, $connections connections, $(nproc) cores"
echo "creating the demo organisation …"
"$bin" demo --members "$members" > "$work/demo.log"
member="ole.brandt@example.org" # the demo chair of Oldenfelde: units, offices, topic lists

http_port="$(free_port)"
VERTEILER_HTTP__LISTEN="127.0.0.1:$http_port" VERTEILER_SMTP__LISTEN="127.0.0.1:$(free_port)" \
  "$bin" serve --demo > "$work/serve.log" 2>&1 &
server_pid=$!
wait_for_port "$http_port" "$server_pid" "$work/serve.log"
base="http://127.0.0.1:$http_port"
cookie="$(python3 ops/bench/portal_sign_in.py "$base" "$member" "$work/outbox")"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: vt_session=$cookie" "$base/me/subscriptions")"
[[ $status == 200 ]] || { echo "the member page answered $status"; exit 1; }

run() { # name, path, extra wrk args…
  local name="$1" path="$2"; shift 2
  wrk --latency -t "$threads" -c "$connections" -d "$duration" "$@" "$base$path" > "$work/$name.wrk"
  local rps p50 p99 errors
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/$name.wrk")"
  p50="$(awk '$1 == "50%" {print $2}' "$work/$name.wrk")"
  p99="$(awk '$1 == "99%" {print $2}' "$work/$name.wrk")"
  errors="$(grep -E 'Non-2xx|Socket errors' "$work/$name.wrk" | tr '\n' ' ' || true)"
  printf '%-34s %10s req/s   p50 %9s   p99 %9s   %s\n' "$name ($path)" "$rps" "$p50" "$p99" "$errors"
  echo "$rps" > "$work/$name.rps"
}

echo "wrk: -t $threads -c $connections -d $duration --latency"
run healthz /healthz
run member /me/subscriptions -H "Cookie: vt_session=$cookie"
echo
printf '%-34s %9.1f%%\n' "member page / healthz (req/s)" \
  "$(awk -v m="$(cat "$work/member.rps")" -v h="$(cat "$work/healthz.rps")" 'BEGIN{print 100 * m / h}')"
rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")"
printf '%-34s %9.1f MB\n' "server peak RSS (VmHWM)" "$(awk -v k="$rss_kb" 'BEGIN{print k / 1024}')"
if grep -qiE 'error|panic' "$work/serve.log"; then
  echo "server log (errors):"; grep -iE 'error|panic' "$work/serve.log" | head -n 5
fi
