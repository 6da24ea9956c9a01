#!/usr/bin/env bash
# Delivery fan-out benchmark (issue 5): one 5 KB message released to a 100,000-member audience,
# delivered by `verteiler serve` through the `relay` transport to Postfix's smtp-sink on
# loopback, one SMTP transaction per recipient. Reports recipients per second from the first to
# the last copy and the server's peak RSS; in the same run smtp-source → smtp-sink (20
# sessions, 20,000 messages) as the ceiling, and the ratio.
#
# The send goes to `alle-mitglieder` as the state chair. That audience needs a press officer's
# approval, which comes with the four-eyes issue; until then the script stands in for the
# approver by setting the held send to scheduled in the database (SQLite), and says so.
#
# Usage: ops/bench/fanout.sh [--dkim]
#   --dkim  sign every copy with a fresh RSA-2048 key (`verteiler dkim generate`, configured
#           through VERTEILER_DELIVERY__DKIM__*); issue 5's target is then >= 2,000 recipients/s.
#           Without it copies go out unsigned (delivery.dkim.demo_key = false).
#   env MEMBERS (default 100000), WORKERS (delivery.workers, default 16). CARGO_TARGET_DIR is
#   honoured. Not measured here yet: Postfix as a peer fanning out to an alias.
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
workers="${WORKERS:-16}"
source ops/bench/postfix_tools.sh

cargo build --release --quiet --bin verteiler
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/verteiler"

export RUST_LOG=warn
export VERTEILER_DATABASE__URL="sqlite://$work/v.db"
db="$work/v.db"

echo "verteiler fan-out benchmark: $members members, $workers workers, $(nproc) cores, DKIM: ${dkim:-off}"
"$bin" demo --members "$members" > "$work/demo.log"
if [[ $dkim == rsa ]]; then
  "$bin" dkim generate --selector bench-rsa --out "$work/dkim-rsa.pem" > "$work/dkim.log"
  export VERTEILER_DELIVERY__DKIM__RSA_SELECTOR=bench-rsa
  export VERTEILER_DELIVERY__DKIM__RSA_KEY_FILE="$work/dkim-rsa.pem"
else
  export VERTEILER_DELIVERY__DKIM__DEMO_KEY=false
fi

# --- gateway → smtp-sink ---------------------------------------------------------------------
sink_port="$(free_port)"
"$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000 > /dev/null 2> "$work/sink.err" &
sink_pid=$!
wait_for_port "$sink_port" "$sink_pid" "$work/sink.err"

smtp_port="$(free_port)"
VERTEILER_SMTP__LISTEN="127.0.0.1:$smtp_port" \
  VERTEILER_HTTP__LISTEN="127.0.0.1:$(free_port)" \
  VERTEILER_DELIVERY__UNDO_WINDOW_SECS=0 \
  VERTEILER_DELIVERY__WORKERS="$workers" \
  VERTEILER_DELIVERY__PER_DOMAIN_IN_FLIGHT="$workers" \
  VERTEILER_DELIVERY__TRANSPORT=relay \
  VERTEILER_DELIVERY__RELAY__HOST=127.0.0.1 \
  VERTEILER_DELIVERY__RELAY__PORT="$sink_port" \
  VERTEILER_DELIVERY__RELAY__TLS=none \
  "$bin" serve --demo > "$work/serve.log" 2>&1 &
server_pid=$!
wait_for_port "$smtp_port" "$server_pid" "$work/serve.log"

python3 - "$smtp_port" <<'PY'
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
# Stand-in for the approval (four-eyes issue): release the held send now.
send_id="$(python3 - "$db" <<'PY'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=30)
sid, state, n = c.execute("SELECT id, state, recipients FROM sends ORDER BY id DESC LIMIT 1").fetchone()
c.execute("UPDATE sends SET state = 'scheduled', decision = 'release', release_at = ? WHERE id = ?",
          (int(time.time() * 1000), sid))
c.commit()
print(sid)
print(f"send {sid} was {state} for {n} recipients; released by the script", file=sys.stderr)
PY
)"
start="$(date +%s.%N)"
while true; do
  state="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute("SELECT state FROM sends WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])' "$db" "$send_id")"
  [[ $state == complete ]] && break
  if ! kill -0 "$server_pid" 2> /dev/null; then echo "the server exited:"; tail -n 20 "$work/serve.log"; exit 1; fi
  if (( $(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN{print (n - s > 1800)}') )); then
    echo "not complete after 30 min"; "$bin" send show "$send_id"; exit 1
  fi
  sleep 1
done
rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")"
"$bin" send show "$send_id"
read -r sent first last < <(python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
print(*c.execute("SELECT COUNT(*), MIN(sent_at), MAX(sent_at) FROM deliveries WHERE send_id = ? AND state = \"sent\"", (int(sys.argv[2]),)).fetchone())
' "$db" "$send_id")
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
kill "$sink_pid" 2> /dev/null || true; wait "$sink_pid" 2> /dev/null || true; sink_pid=""
gw_secs="$(awk -v a="$first" -v b="$last" 'BEGIN{printf "%.2f", (b - a) / 1000}')"
gw_rate="$(awk -v n="$sent" -v s="$gw_secs" 'BEGIN{printf "%.1f", (s > 0 ? n / s : 0)}')"

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
printf '%-36s %12s\n' "DKIM" "$(grep -o 'DKIM signing with the [^ ]* key [^ ]*' "$work/serve.log" | paste -sd, - | grep . || echo off)"
printf '%-36s %12s\n' "gateway copies sent" "$sent"
printf '%-36s %12s\n' "gateway seconds (first to last copy)" "$gw_secs"
printf '%-36s %12s\n' "gateway recipients/s" "$gw_rate"
printf '%-36s %12s\n' "ceiling smtp-source → smtp-sink /s" "$ceiling"
printf '%-36s %11s%%\n' "ratio gateway / ceiling" "$(awk -v g="$gw_rate" -v c="$ceiling" 'BEGIN{printf "%.1f", 100 * g / c}')"
printf '%-36s %9.1f MB\n' "gateway peak RSS (VmHWM)" "$(awk -v k="$rss_kb" 'BEGIN{print k / 1024}')"
