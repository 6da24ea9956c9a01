#!/usr/bin/env bash
# Fault injection (issue 25): one send to the whole demo organisation per fault, fanned out by
# `verteiler serve` over loopback while the fault happens; afterwards the script counts what the
# receiving side holds against what the database says was sent, and prints per fault:
# copies delivered, repeated (the same recipient twice), lost (queued but never received) and
# failed, and how many copies were tried more than once.
#
#   relay-outage   the relay (a counting SMTP sink, ops/fault/sink.py) goes away for
#                  OUTAGE_SECS (default 120) during fan-out and comes back on the same port
#   pg-restart     `pg_ctlcluster VERSION main restart` during fan-out (DATABASE=postgres)
#   kill-loop      KILLS (default 10) times `kill -9` of serve during fan-out, each followed
#                  by a start under the same instance name
#   outbox-full    transport "outbox" on a 4 MB tmpfs; a consumer moves the files away, stops
#                  for FULL_SECS (default 60) so the disk fills, then goes on
#
# Usage: ops/fault/run.sh [FAULT ...]     (default: all four, in that order)
#   env MEMBERS (default 16100: about 10,000 copies), WORKERS (default 16),
#   DATABASE=postgres|sqlite (default postgres: a scratch database on 127.0.0.1:5432, dropped
#   afterwards; pg-restart needs it), CARGO_TARGET_DIR is honoured.
# Not in CI: it restarts the machine's PostgreSQL and mounts a tmpfs (root). Loopback only;
# every wait is bounded (FAULT_TIMEOUT, default 900 s per fault).
set -euo pipefail
cd "$(dirname "$0")/../.."
source ops/bench/common.sh

faults=("$@")
[[ ${#faults[@]} -gt 0 ]] || faults=(relay-outage pg-restart kill-loop outbox-full)
for f in "${faults[@]}"; do
  case "$f" in
    relay-outage | pg-restart | kill-loop | outbox-full) ;;
    *) echo "unknown fault $f (relay-outage, pg-restart, kill-loop, outbox-full)" >&2; exit 2 ;;
  esac
done
members="${MEMBERS:-16100}"
workers="${WORKERS:-16}"
timeout_secs="${FAULT_TIMEOUT:-900}"
database="${DATABASE:-postgres}"

cargo build --release --quiet --bin verteiler
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/verteiler"
export RUST_LOG=warn

case "$database" in
  postgres)
    pg_db="verteiler_fault_$$"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $pg_db" postgres
    export VERTEILER_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$pg_db"
    sql() { psql -h 127.0.0.1 -U postgres -d "$pg_db" -AtF ' ' -qc "$1"; }
    ;;
  sqlite)
    export VERTEILER_DATABASE__URL="sqlite://$work/v.db"
    sql() { python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
for row in c.execute(sys.argv[2]).fetchall(): print(*row)' "$work/v.db" "$1"; }
    ;;
  *) echo "DATABASE must be postgres or sqlite, not $database" >&2; exit 2 ;;
esac
tmpfs=""
consumer_pid=""
on_exit() {
  [[ -n $consumer_pid ]] && kill "$consumer_pid" 2> /dev/null || true
  [[ -n $tmpfs ]] && umount "$tmpfs" 2> /dev/null || true
  cleanup
  if [[ $database == postgres ]]; then
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" postgres > /dev/null 2>&1 || true
  fi
}
trap on_exit EXIT

echo "fault injection: $members members, $workers workers, $database, faults: ${faults[*]}"
"$bin" demo --members "$members" > "$work/demo.log"
export VERTEILER_DELIVERY__DKIM__DEMO_KEY=false
export VERTEILER_DELIVERY__UNDO_WINDOW_SECS=0
export VERTEILER_INSTANCE__NAME=fault-1

sink_port="$(free_port)"
received="$work/received.log"
touch "$received"
start_sink() {
  python3 ops/fault/sink.py "$sink_port" "$received" 2> "$work/sink.err" &
  sink_pid=$!
  wait_for_port "$sink_port" "$sink_pid" "$work/sink.err"
}

# serve with the given transport ("relay" to the sink, or "outbox DIR").
transport=(relay)
start_serve() {
  local smtp_port; smtp_port="$(free_port)"
  local vars=(VERTEILER_SMTP__LISTEN="127.0.0.1:$smtp_port" VERTEILER_HTTP__LISTEN="127.0.0.1:$(free_port)"
    VERTEILER_DELIVERY__WORKERS="$workers" VERTEILER_DELIVERY__PER_DOMAIN_IN_FLIGHT="$workers"
    VERTEILER_DELIVERY__RETRY_FIRST_SECS=5 VERTEILER_DELIVERY__RETRY_MAX_SECS=20
    VERTEILER_DELIVERY__LEASE_SECS=300)
  if [[ ${transport[0]} == relay ]]; then
    vars+=(VERTEILER_DELIVERY__TRANSPORT=relay VERTEILER_DELIVERY__RELAY__HOST=127.0.0.1
      VERTEILER_DELIVERY__RELAY__PORT="$sink_port" VERTEILER_DELIVERY__RELAY__TLS=none)
  else
    vars+=(VERTEILER_DELIVERY__TRANSPORT=outbox VERTEILER_DELIVERY__OUTBOX_DIR="${transport[1]}")
  fi
  env "${vars[@]}" "$bin" serve --demo >> "$work/serve.log" 2>&1 &
  server_pid=$!
  serve_smtp="$smtp_port"
  wait_for_port "$smtp_port" "$server_pid" "$work/serve.log"
}

# Submits to everyone with `$1` as subject, approves as the two press officers; sets send_id.
submit() {
  python3 - "$serve_smtp" "$1" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "hans-peter.schulz@example.org"
m["To"] = "alle-mitglieder@lists.example.org"
m["Subject"] = sys.argv[2]
m.set_content("Liebe Mitglieder, wir laden herzlich ein.")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.login("hans-peter.schulz@example.org", "landesvorsitz")
    s.send_message(m)
PY
  send_id="$(sql "SELECT id FROM sends ORDER BY id DESC LIMIT 1")"
  for approver in renee.hoffmann@example.org jonas.petersen@example.org; do
    [[ "$(sql "SELECT state FROM sends WHERE id = $send_id")" == held ]] || break
    "$bin" held approve "$send_id" --as "$approver" > /dev/null
  done
}

sent_count() { sql "SELECT COUNT(*) FROM deliveries WHERE send_id = $send_id AND state = 'sent'"; }
received_count() { grep -c "	$1\$" "$received" || true; }

# Waits until `$2` copies with subject `$1` arrived (relay) or the send sent `$2` (outbox).
wait_copies() {
  local deadline=$((SECONDS + timeout_secs))
  while true; do
    local n
    if [[ ${transport[0]} == relay ]]; then n="$(received_count "$1")"; else n="$(sent_count)"; fi
    (( n >= $2 )) && return 0
    (( SECONDS < deadline )) || { echo "fan-out stalled at $n copies"; exit 1; }
    sleep 0.05
  done
}

wait_complete() {
  local deadline=$((SECONDS + timeout_secs))
  until [[ "$(sql "SELECT state FROM sends WHERE id = $send_id")" == complete ]]; do
    (( SECONDS < deadline )) || { echo "send $send_id not complete after ${timeout_secs}s"; "$bin" send show "$send_id"; exit 1; }
    if ! kill -0 "$server_pid" 2> /dev/null; then
      echo "serve exited; its log ends:"; tail -n 5 "$work/serve.log"; echo "starting it again"
      start_serve
    fi
    sleep 1
  done
}

results=()
# Counts for the send with subject `$1` received as lines of `$2` (recipient TAB subject).
report() {
  local fault="$1" lines="$2" started="$3"
  local sent failed queued retried distinct total
  read -r sent failed queued retried < <(sql "SELECT COUNT(*) FILTER (WHERE state = 'sent'), COUNT(*) FILTER (WHERE state IN ('failed', 'bounced')), COUNT(*) FILTER (WHERE state = 'queued'), COUNT(*) FILTER (WHERE attempts > 1) FROM deliveries WHERE send_id = $send_id")
  total="$(wc -l < "$lines")"
  distinct="$(cut -f1 "$lines" | sort -u | wc -l)"
  local expected; expected="$(sql "SELECT COUNT(*) FROM deliveries WHERE send_id = $send_id")"
  local lost=$((expected - distinct))
  results+=("$(printf '%-13s %7s %9s %9s %9s %6s %8s %8s' "$fault" "$expected" "$distinct" "$((total - distinct))" "$lost" "$failed" "$retried" "$((SECONDS - started))s")")
  echo "$fault: $expected copies queued, $distinct received, $((total - distinct)) repeated, $lost lost ($sent sent, $failed failed, $queued still queued by the database's account; $retried tried more than once)"
}

pg_restart() {
  local version; version="$(pg_lsclusters --no-header | awk '$2 == "main" {print $1; exit}')"
  [[ -n $version ]] || { echo "pg-restart: no PostgreSQL cluster 'main' found by pg_lsclusters"; exit 1; }
  echo "restarting PostgreSQL $version/main"
  pg_ctlcluster "$version" main restart
}

run_relay_fault() {
  local fault="$1" subject="fault $1 $$" started=$SECONDS
  transport=(relay)
  start_sink
  start_serve
  submit "$subject"
  wait_copies "$subject" 2000
  case "$fault" in
    relay-outage)
      echo "relay down for ${OUTAGE_SECS:-120}s"
      kill -9 "$sink_pid"; wait "$sink_pid" 2> /dev/null || true
      sleep "${OUTAGE_SECS:-120}"
      start_sink
      ;;
    pg-restart)
      [[ $database == postgres ]] || { echo "pg-restart needs DATABASE=postgres"; exit 2; }
      pg_restart
      ;;
    kill-loop)
      # The kills spread over the fan-out: the k-th after about k/(KILLS+1) of the copies, give
      # or take a random 200, so every kill lands while copies are still going out.
      local k kills="${KILLS:-10}" total
      until [[ "$(sql "SELECT state FROM sends WHERE id = $send_id")" != scheduled ]]; do sleep 0.2; done
      total="$(sql "SELECT COUNT(*) FROM deliveries WHERE send_id = $send_id")"
      for k in $(seq 1 "$kills"); do
        wait_copies "$subject" $(( total * k / (kills + 1) + RANDOM % 400 - 200 ))
        kill -9 "$server_pid"; wait "$server_pid" 2> /dev/null || true
        start_serve
      done
      ;;
  esac
  wait_complete
  grep "	$subject\$" "$received" > "$work/lines.txt" || true
  report "$fault" "$work/lines.txt" "$started"
  kill -TERM "$server_pid"; wait "$server_pid" 2> /dev/null || true; server_pid=""
  kill "$sink_pid" 2> /dev/null || true; wait "$sink_pid" 2> /dev/null || true; sink_pid=""
}

run_outbox_full() {
  local subject="fault outbox-full $$" started=$SECONDS
  tmpfs="$work/outbox"; mkdir -p "$tmpfs" "$work/spool"
  mount -t tmpfs -o size=4m tmpfs "$tmpfs"
  transport=(outbox "$tmpfs")
  # The consumer: what picks mail up from the outbox in production. `--backup=numbered`
  # keeps a second file of the same copy as name.~1~, so repeats are counted.
  consume() { while true; do
      find "$tmpfs" -maxdepth 1 -name '*.eml' -exec mv --backup=numbered -t "$work/spool" {} + 2> /dev/null || true
      if [[ -e $work/consumer.pause ]]; then sleep "${FULL_SECS:-60}"; rm -f "$work/consumer.pause"; fi
      sleep 0.5
    done; }
  consume & consumer_pid=$!
  start_serve
  submit "$subject"
  wait_copies "$subject" 1000
  echo "consumer paused for ${FULL_SECS:-60}s: the 4 MB outbox fills"
  touch "$work/consumer.pause"
  sleep 5
  echo "outbox: $(df -h --output=used,size "$tmpfs" | tail -1)"
  wait_complete
  sleep 2
  kill "$consumer_pid"; wait "$consumer_pid" 2> /dev/null || true; consumer_pid=""
  find "$tmpfs" -maxdepth 1 -name '*.eml' -exec mv --backup=numbered -t "$work/spool" {} + 2> /dev/null || true
  # One line per file: its recipient (Delivered-To), as the sink writes them.
  find "$work/spool" -type f -exec sed -n 's/^Delivered-To: \(.*\)\r$/\1/p;/^\r$/q' {} \; \
    | tr 'A-Z' 'a-z' | sed "s/\$/\t$subject/" > "$work/lines.txt"
  report outbox-full "$work/lines.txt" "$started"
  kill -TERM "$server_pid"; wait "$server_pid" 2> /dev/null || true; server_pid=""
  umount "$tmpfs"; tmpfs=""
}

for fault in "${faults[@]}"; do
  echo "--- $fault"
  if [[ $fault == outbox-full ]]; then run_outbox_full; else run_relay_fault "$fault"; fi
done

echo
printf '%-13s %7s %9s %9s %9s %6s %8s %8s\n' fault queued received repeated lost failed retried took
printf '%s\n' "${results[@]}"
