#!/usr/bin/env bash
# Delivery fan-out benchmark (issue 5): one 5 KB message released to a 100,000-member audience,
# delivered by `verteiler serve` through the `relay` transport to Postfix's smtp-sink on
# loopback, one SMTP transaction per recipient. Reports recipients per second from the first to
# the last copy and the server's peak RSS; in the same run smtp-source → smtp-sink (20
# sessions, 20,000 messages) as the ceiling, and a private Postfix instance fanning the same
# message out to a virtual alias of as many addresses, relaying to smtp-sink, as the peer.
#
# The send goes to `alle-mitglieder` as the state chair. That audience needs a press officer's
# approval, which comes with the four-eyes issue; until then the script stands in for the
# approver by setting the held send to scheduled in the database, and says so.
#
# Usage: ops/bench/fanout.sh [--dkim]
#   --dkim  sign every copy with a fresh RSA-2048 key (`verteiler dkim generate`, configured
#           through VERTEILER_DELIVERY__DKIM__*); issue 5's target is then >= 2,000 recipients/s.
#           Without it copies go out unsigned (delivery.dkim.demo_key = false).
#   env MEMBERS (default 100000), WORKERS (delivery.workers, default 64),
#   DATABASE=sqlite|postgres (default sqlite; postgres uses a scratch database on
#   127.0.0.1:5432, dropped afterwards), PEER=0 skips the Postfix peer run,
#   INSTANCES=N (postgres only): after the one-process run, a second send of the same
#   message fanned out by N `serve` processes on the database (instance.name inst-1 …);
#   prints both rates, their ratio and the copies each instance delivered.
#   CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../.."

dkim=""
for arg in "$@"; do
  case "$arg" in
    --dkim) dkim=rsa ;;
    *) echo "usage: $0 [--dkim]" >&2; exit 2 ;;
  esac
done
members="${MEMBERS:-100000}"
workers="${WORKERS:-64}"
source ops/bench/postfix_tools.sh

cargo build --release --quiet --bin verteiler
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/verteiler"

export RUST_LOG=warn
database="${DATABASE:-sqlite}"
case "$database" in
  sqlite)
    export VERTEILER_DATABASE__URL="sqlite://$work/v.db"
    sql() { python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
for row in c.execute(sys.argv[2]).fetchall(): print(*row)
c.commit()' "$work/v.db" "$1"; }
    ;;
  postgres)
    pg_db="verteiler_fanout_$$"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $pg_db" postgres
    export VERTEILER_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$pg_db"
    sql() { psql -h 127.0.0.1 -U postgres -d "$pg_db" -AtF ' ' -qc "$1"; }
    drop_pg() { psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" postgres > /dev/null || true; }
    ;;
  *) echo "DATABASE must be sqlite or postgres, not $database"; exit 2 ;;
esac
pf_dir=""
on_exit() {
  if [[ -n $pf_dir ]]; then postfix -c "$pf_dir" stop > /dev/null 2>&1 || true; fi
  for pid in "${extra_pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  cleanup
  if declare -F drop_pg > /dev/null; then drop_pg; fi
}
trap on_exit EXIT

echo "verteiler fan-out benchmark: $members members, $workers workers, $database, $(nproc) cores, DKIM: ${dkim:-off}"
"$bin" demo --members "$members" > "$work/demo.log"
if [[ $dkim == rsa ]]; then
  "$bin" dkim generate --selector bench-rsa --out "$work/dkim-rsa.pem" > "$work/dkim.log"
  export VERTEILER_DELIVERY__DKIM__RSA_SELECTOR=bench-rsa
  export VERTEILER_DELIVERY__DKIM__RSA_KEY_FILE="$work/dkim-rsa.pem"
else
  export VERTEILER_DELIVERY__DKIM__DEMO_KEY=false
fi

# --- gateway → smtp-sink ---------------------------------------------------------------------
# One send fanned out by `$1` serve processes on the database (instance.name inst-1 … inst-N,
# each with $workers workers), timed from the first to the last copy; sets gw_sent, gw_secs,
# gw_rate, rss_kb (the first process's peak) and gw_shares (copies by instance, `send show`).
extra_pids=()
gateway_run() {
  local instances="$1" i port
  # Each run starts from a vacuumed database: the previous run's 60,000 updated rows must not
  # leave the next one with autovacuum running beside it.
  [[ $database == postgres ]] && sql "VACUUM ANALYZE" > /dev/null
  sink_port="$(free_port)"
  "$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000 > /dev/null 2> "$work/sink.err" &
  sink_pid=$!
  wait_for_port "$sink_port" "$sink_pid" "$work/sink.err"
  local smtp_ports=() pids=()
  for i in $(seq 1 "$instances"); do
    port="$(free_port)"
    smtp_ports+=("$port")
    VERTEILER_INSTANCE__NAME="inst-$i" \
      VERTEILER_SMTP__LISTEN="127.0.0.1:$port" \
      VERTEILER_HTTP__LISTEN="127.0.0.1:$(free_port)" \
      VERTEILER_DELIVERY__UNDO_WINDOW_SECS=0 \
      VERTEILER_DELIVERY__WORKERS="$workers" \
      VERTEILER_DELIVERY__PER_DOMAIN_IN_FLIGHT="$workers" \
      VERTEILER_DELIVERY__TRANSPORT=relay \
      VERTEILER_DELIVERY__RELAY__HOST=127.0.0.1 \
      VERTEILER_DELIVERY__RELAY__PORT="$sink_port" \
      VERTEILER_DELIVERY__RELAY__TLS=none \
      "$bin" serve --demo > "$work/serve-$i.log" 2>&1 &
    pids+=($!)
    wait_for_port "$port" "${pids[-1]}" "$work/serve-$i.log"
  done
  server_pid="${pids[0]}"
  extra_pids=("${pids[@]:1}")

  python3 - "${smtp_ports[0]}" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "hans-peter.schulz@example.org"
m["To"] = "alle-mitglieder@lists.example.org"
m["Subject"] = "Einladung zum Landesparteitag"
m.set_content(("Liebe Mitglieder, wir laden herzlich ein. " * 120)[:5000])
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.login("hans-peter.schulz@example.org", "landesvorsitz")
    print("submission:", s.send_message(m) or "accepted")
PY
  # The whole organisation's list always needs the press office: its two press officers
  # approve it, as in production (the undo window is 0 for the CLI too: delivery starts at once).
  local send_id state n
  read -r send_id state n < <(sql "SELECT id, state, recipients FROM sends ORDER BY id DESC LIMIT 1")
  for approver in renee.hoffmann@example.org jonas.petersen@example.org; do
    [[ "$(sql "SELECT state FROM sends WHERE id = $send_id")" == held ]] || break
    VERTEILER_DELIVERY__UNDO_WINDOW_SECS=0 "$bin" held approve "$send_id" --as "$approver"
  done
  echo "send $send_id was $state for $n recipients; approved by the press office; $instances instance(s)"
  local started; started="$(date +%s.%N)"
  while true; do
    state="$(sql "SELECT state FROM sends WHERE id = $send_id")"
    [[ $state == complete ]] && break
    for i in "${!pids[@]}"; do
      if ! kill -0 "${pids[$i]}" 2> /dev/null; then
        echo "server $((i + 1)) exited:"; tail -n 20 "$work/serve-$((i + 1)).log"; exit 1
      fi
    done
    if (( $(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN{print (n - s > 1800)}') )); then
      echo "not complete after 30 min"; "$bin" send show "$send_id"; exit 1
    fi
    sleep 1
  done
  rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/${pids[0]}/status")"
  "$bin" send show "$send_id" | tee "$work/show.txt"
  gw_shares="$(sed -n 's/^handled by: \(.*\) (copies.*/\1/p' "$work/show.txt")"
  local first last
  read -r gw_sent first last < <(sql "SELECT COUNT(*), MIN(sent_at), MAX(sent_at) FROM deliveries WHERE send_id = $send_id AND state = 'sent'")
  for i in "${pids[@]}"; do kill -TERM "$i" 2> /dev/null || true; done
  for i in "${pids[@]}"; do wait "$i" || true; done
  server_pid=""; extra_pids=()
  kill "$sink_pid" 2> /dev/null || true; wait "$sink_pid" 2> /dev/null || true; sink_pid=""
  gw_secs="$(awk -v a="$first" -v b="$last" 'BEGIN{printf "%.2f", (b - a) / 1000}')"
  gw_rate="$(awk -v n="$gw_sent" -v s="$gw_secs" 'BEGIN{printf "%.1f", (s > 0 ? n / s : 0)}')"
}

instances="${INSTANCES:-1}"
if (( instances > 1 )) && [[ $database != postgres ]]; then
  echo "INSTANCES=$instances needs DATABASE=postgres: SQLite serves one process per database file"
  exit 2
fi
gateway_run 1
sent="$gw_sent"; gw_secs1="$gw_secs"; gw_rate1="$gw_rate"
if (( instances > 1 )); then
  gateway_run "$instances"
  sent_n="$gw_sent"; gw_secs_n="$gw_secs"; gw_rate_n="$gw_rate"; shares_n="$gw_shares"
fi
gw_secs="$gw_secs1"; gw_rate="$gw_rate1"

# --- peer: Postfix fanning the same message out to an alias of $members addresses ------------
# A private Postfix instance (own config, queue and port) relays everything to smtp-sink;
# one virtual alias expands to every address. Timed from the submission until its queue is
# empty. Postfix batches up to 50 recipients per transaction (smtp_destination_recipient_limit)
# where verteiler sends one transaction per recipient, so the comparison favours Postfix.
postfix_peer() {
  local pf="$work/postfix" sink_port pf_port
  mkdir -p "$pf/queue" "$pf/data"
  # Postfix daemons run as the postfix user: they must reach the directories.
  chmod 755 "$work" "$pf"
  chown postfix "$pf/data"
  sink_port="$(free_port)"
  "$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000 > /dev/null 2> "$work/sink.err" &
  sink_pid=$!
  wait_for_port "$sink_port" "$sink_pid" "$work/sink.err"
  pf_port="$(free_port)"
  python3 - "$members" > "$pf/virtual" <<'PY'
import sys
n = int(sys.argv[1])
print("list@peer.example.org " + ",".join(f"m{i}@d{i % 50}.example.net" for i in range(n)))
PY
  cp /etc/postfix/master.cf "$pf/master.cf"
  # Only our listener: replace the default smtp service line.
  sed -i "s/^smtp      inet.*/127.0.0.1:$pf_port inet n - n - - smtpd/" "$pf/master.cf"
  # No chroot: the private queue directory has none of the files a chroot needs.
  sed -i -E 's/^([^#[:space:]]+[[:space:]]+(unix|inet|fifo|pass|unix-dgram)[[:space:]]+[-yn][[:space:]]+[-yn][[:space:]]+)y/\1n/' "$pf/master.cf"
  cat > "$pf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = peer.example.org
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink_port
virtual_alias_maps = texthash:$pf/virtual
virtual_alias_expansion_limit = $((members + 10))
smtpd_recipient_restrictions = permit_mynetworks, reject
default_destination_concurrency_limit = 20
smtp_destination_concurrency_limit = 20
smtp_tls_security_level = none
maillog_file_prefixes = $pf
maillog_file = $pf/maillog
CF
  postfix -c "$pf" check || { echo "postfix check failed"; exit 1; }
  pf_dir="$pf"
  postfix -c "$pf" start || { echo "postfix did not start"; cat "$pf/maillog" 2> /dev/null; exit 1; }
  wait_for_port "$pf_port" "$sink_pid" "$work/sink.err"
  local start end
  start="$(date +%s.%N)"
  python3 - "$pf_port" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "chair@peer.example.org"
m["To"] = "list@peer.example.org"
m["Subject"] = "Einladung zum Landesparteitag"
m.set_content(("Liebe Mitglieder, wir laden herzlich ein. " * 120)[:5000])
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.send_message(m)
PY
  # Empty queue = every recipient handed to the sink.
  sleep 1
  local waited=0
  while [[ -n "$(find "$pf/queue/incoming" "$pf/queue/active" "$pf/queue/deferred" "$pf/queue/maildrop" -type f 2> /dev/null | head -1)" ]]; do
    sleep 0.2
    waited=$((waited + 1))
    if (( waited > 9000 )); then echo "postfix peer: queue not empty after 30 min"; tail "$pf/maillog"; exit 1; fi
  done
  end="$(date +%s.%N)"
  postfix -c "$pf" stop > /dev/null 2>&1 || true
  pf_dir=""
  kill "$sink_pid" 2> /dev/null || true; wait "$sink_pid" 2> /dev/null || true; sink_pid=""
  local delivered
  delivered="$(grep -c 'status=sent' "$pf/maillog" || true)"
  peer_rate="$(awk -v n="$members" -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", n / (b - a)}')"
  echo "postfix peer: $delivered transactions logged as sent, $members recipients in $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b - a}') s"
}

peer_rate=""
[[ ${PEER:-1} == 0 ]] || postfix_peer

# --- ceiling: smtp-source → smtp-sink ---------------------------------------------------------
sink_port="$(free_port)"
"$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000 > /dev/null 2> "$work/sink.err" &
sink_pid=$!
wait_for_port "$sink_port" "$sink_pid" "$work/sink.err"
start="$(date +%s.%N)"
"$smtp_source" -d -s 20 -m 20000 -l 5000 -f bench@example.org -t sink@example.org "127.0.0.1:$sink_port"
end="$(date +%s.%N)"
kill "$sink_pid" 2> /dev/null || true; wait "$sink_pid" 2> /dev/null || true; sink_pid=""
ceiling="$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", 20000 / (b - a)}')"

echo
printf '%-36s %12s\n' "DKIM" "$(grep -o 'DKIM signing with the [^ ]* key [^ ]*' "$work/serve-1.log" | paste -sd, - | grep . || echo off)"
printf '%-36s %12s\n' "gateway copies sent" "$sent"
printf '%-36s %12s\n' "gateway seconds (first to last copy)" "$gw_secs"
printf '%-36s %12s\n' "gateway recipients/s" "$gw_rate"
if (( instances > 1 )); then
  printf '%-36s %12s\n' "$instances instances: copies sent" "$sent_n"
  printf '%-36s %12s\n' "$instances instances: seconds" "$gw_secs_n"
  printf '%-36s %12s\n' "$instances instances: recipients/s" "$gw_rate_n"
  printf '%-36s %12s\n' "$instances instances: by instance" "$shares_n"
  printf '%-36s %12s\n' "ratio $instances instances / 1" "$(awk -v a="$gw_rate_n" -v b="$gw_rate" 'BEGIN{printf "%.2f", a / b}')"
fi
printf '%-36s %12s\n' "ceiling smtp-source → smtp-sink /s" "$ceiling"
printf '%-36s %12s\n' "peer Postfix → smtp-sink recipients/s" "$peer_rate"
printf '%-36s %11s%%\n' "ratio gateway / ceiling" "$(awk -v g="$gw_rate" -v c="$ceiling" 'BEGIN{printf "%.1f", 100 * g / c}')"
[[ -n $peer_rate ]] && printf '%-36s %11s%%\n' "ratio gateway / Postfix" "$(awk -v g="$gw_rate" -v c="$peer_rate" 'BEGIN{printf "%.1f", 100 * g / c}')"
printf '%-36s %9.1f MB\n' "gateway peak RSS (VmHWM)" "$(awk -v k="$rss_kb" 'BEGIN{print k / 1024}')"
