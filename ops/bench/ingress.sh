#!/usr/bin/env bash
# SMTP ingress benchmark (issue 4): accepted list submissions per second of the gateway
# (`verteiler serve --demo` on SQLite, every submission decided and committed durably before
# its 250) against Postfix's smtp-sink (which stores nothing), and the ratio. Target: ≥ 25 %.
#
# Both sides get the same load on loopback: 20 parallel sessions, 20,000 messages of ~1 KB
# body, several messages per connection.
#   gateway:   gateway/examples/smtp_load.rs, our own client. Postfix's smtp-source speaks no
#              AUTH, and the gateway takes list submissions only from authenticated people;
#              each session logs in (AUTH PLAIN, allowed without TLS from loopback in demo
#              mode) as one of 20 branch chairs and sends to that chair's branch list.
#   reference: smtp-source -d → smtp-sink, as shipped by Debian's postfix package.
# The volume caps ([limits] sends_per_sender_per_hour/_per_day, sends_per_audience_per_day,
# recipients_per_sender_per_day) are raised so the benchmark's own load is not refused; the
# engine still holds unusual volume, and a hold is a durable 250 like an acceptance. Non-2xx
# replies are counted and shown (a policy refusal is decided and stored too).
#
# Usage: ops/bench/ingress.sh
#   env MESSAGES (default 20000), SESSIONS (default 20), MEMBERS (demo size, default 5000),
#   SIZE (body bytes, default 1000), RUNS (rounds of both runs, the medians count; default 3),
#   PERF (a file: record the server with `perf record -g` during the first gateway run),
#   SERVER_LOG (a file: keep the first gateway run's server log, e.g. with RUST_LOG=warn,verteiler_store=debug
#   for every group commit's size and time). CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../.."

messages="${MESSAGES:-20000}"
sessions="${SESSIONS:-20}"
members="${MEMBERS:-5000}"
size="${SIZE:-1000}"
source ops/bench/postfix_tools.sh

cargo build --release --quiet --bin verteiler
cargo build --release --quiet -p verteiler-gateway --example smtp_load
target="${CARGO_TARGET_DIR:-$PWD/target}"
bin="$target/release/verteiler"
load="$target/release/examples/smtp_load"

export RUST_LOG="${RUST_LOG:-warn}"
export VERTEILER_DATABASE__URL="sqlite://$work/v.db"
export VERTEILER_DELIVERY__OUTBOX_DIR="$work/outbox"

echo "verteiler ingress benchmark: $sessions sessions, $messages messages, ${size}-byte bodies, $(nproc) cores"
echo "creating the demo organisation ($members members) …"
"$bin" demo --members "$members" > "$work/demo.log"

list_domain="$("$bin" config show | sed -n 's/^list_domain *= *"\(.*\)"/\1/p' | head -n 1)"
list_domain="${list_domain:-lists.example.org}"

# 20 chairs of branches, each with the structural list of their own branch.
python3 - "$work/v.db" "$list_domain" "$sessions" > "$work/chairs" <<'EOF'
import sqlite3, sys
db, domain, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = sqlite3.connect(db).execute(
    "SELECT c.value, a.slug FROM roles r "
    "JOIN contact_points c ON c.member_id = r.member_id AND c.kind = 'email' "
    "  AND c.is_primary AND c.verified "
    "JOIN units u ON u.id = r.unit_id "
    "JOIN audiences a ON a.unit_id = u.id AND a.kind = 'structural' AND a.include_subunits = 0 "
    "  AND a.active "
    "WHERE r.function = 'chair' AND u.kind = 'branch' ORDER BY u.id").fetchall()
seen, lists = set(), set()  # one chair per list, one list per chair
for email, slug in rows:
    if email.lower() not in seen and slug not in lists and len(seen) < min(wanted, 20):
        seen.add(email.lower())
        lists.add(slug)
        print(email, f"{slug}@{domain}")
EOF
[[ -s $work/chairs ]] || { echo "no branch chairs with an email address in the demo"; exit 1; }
: > "$work/logins"
: > "$work/to"
while read -r email list; do
  password="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  printf '%s\n' "$password" | "$bin" member set-password "$email" --password-stdin --name bench > /dev/null
  printf '%s %s\n' "$email" "$password" >> "$work/logins"
  printf '%s\n' "$list" >> "$work/to"
done < "$work/chairs"
echo "$(wc -l < "$work/logins") chairs with app passwords, e.g. $(head -n 1 "$work/chairs")"

# A round is one gateway run (a fresh server on a fresh copy of the demo database) followed by
# one reference run, so both sides meet the machine in the same state; RUNS rounds (default
# 3), and the medians count. One run alone moved by ±15 % between runs on this kind of
# machine (shared cores and disk).
# No process has the database open now; its WAL, if one is left, belongs to the copy.
for f in v.db v.db-wal; do [[ -e $work/$f ]] && cp "$work/$f" "$work/demo-$f"; done
runs="${RUNS:-3}"

median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
    END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# --- gateway -------------------------------------------------------------------------------
# The gateway hands its mail (here: the notices telling each sender what became of the
# message) to a relay on this host, as a production instance hands it to the local Postfix:
# an smtp-sink of its own. The demo's default, one synced file per mail in ./data/outbox,
# would add two fsyncs per notice to the same disk as the database's commits, which no
# production set-up does.
gw_rates=()
totals=(0 0 0 0 0) # accepted held temp perm errors, over all rounds
rss_kb=0
gateway_run() { # round
  rm -f "$work/v.db" "$work/v.db-wal" "$work/v.db-shm"
  local f
  for f in v.db v.db-wal; do [[ -e $work/demo-$f ]] && cp "$work/demo-$f" "$work/$f"; done
  local relay_port smtp_port http_port
  relay_port="$(free_port)"
  "$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$relay_port" 1000 > /dev/null 2> "$work/relay.err" &
  sink_pid=$!
  wait_for_port "$relay_port" "$sink_pid" "$work/relay.err"
  smtp_port="$(free_port)"
  http_port="$(free_port)"
  VERTEILER_SMTP__LISTEN="127.0.0.1:$smtp_port" \
    VERTEILER_HTTP__LISTEN="127.0.0.1:$http_port" \
    VERTEILER_DELIVERY__TRANSPORT=relay \
    VERTEILER_DELIVERY__RELAY__HOST=127.0.0.1 \
    VERTEILER_DELIVERY__RELAY__PORT="$relay_port" \
    VERTEILER_DELIVERY__RELAY__TLS=none \
    VERTEILER_LIMITS__SENDS_PER_SENDER_PER_DAY=1000000 \
    VERTEILER_LIMITS__SENDS_PER_SENDER_PER_HOUR=1000000 \
    VERTEILER_LIMITS__SENDS_PER_AUDIENCE_PER_DAY=1000000 \
    VERTEILER_LIMITS__RECIPIENTS_PER_SENDER_PER_DAY=1000000000 \
    "$bin" serve --demo > "$work/serve.log" 2>&1 &
  server_pid=$!
  wait_for_port "$smtp_port" "$server_pid" "$work/serve.log"

  gateway_cmd=("$load" --server "127.0.0.1:$smtp_port" --sessions "$sessions"
    --messages "$messages" --logins "$work/logins" --to-file "$work/to" --size "$size")
  (($1 == 1)) && echo "gateway: ${gateway_cmd[*]}"
  local perf_pid=""
  if [[ -n ${PERF:-} && $1 == 1 ]]; then
    # Where the serving process spends its time during the load: `perf report -i $PERF`.
    perf record -F 999 -g -o "$PERF" -p "$server_pid" > /dev/null 2>&1 &
    perf_pid=$!
  fi
  "${gateway_cmd[@]}" > "$work/gateway.out"
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
  fi
  local rss
  rss="$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")"
  ((rss > rss_kb)) && rss_kb=$rss
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "verteiler serve exited with $?:"; tail -n 20 "$work/serve.log"; }
  server_pid=""
  [[ -n ${SERVER_LOG:-} && $1 == 1 ]] && cp "$work/serve.log" "$SERVER_LOG"
  if grep -qiE 'error|panic' "$work/serve.log"; then
    echo "server log (errors):"; grep -iE 'error|panic' "$work/serve.log" | head -n 5
  fi
  grep '^  non-2xx' "$work/gateway.out" || true
  kill "$sink_pid" 2> /dev/null || true
  wait "$sink_pid" 2> /dev/null || true
  sink_pid=""

  summary="$(head -n 1 "$work/gateway.out")"
  echo "  round $1 gateway: $summary"
  gw_rates+=("$(field rate)")
  local k=0 name
  for name in accepted held temp perm errors; do
    totals[k]=$((totals[k] + $(field "$name")))
    k=$((k + 1))
  done
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<< " $summary"; }

# --- reference: smtp-source → smtp-sink ------------------------------------------------------
# The reference run is short (~0.6 s on 2 cores): it is timed to the millisecond.
sink_rates=()
sink_run() { # round
  local sink_port start end
  sink_port="$(free_port)"
  sink_cmd=("$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000)
  "${sink_cmd[@]}" > /dev/null 2> "$work/sink.err" &
  sink_pid=$!
  wait_for_port "$sink_port" "$sink_pid" "$work/sink.err"
  source_cmd=("$smtp_source" -d -s "$sessions" -m "$messages" -l "$size"
    -f bench@example.org -t sink@example.org "127.0.0.1:$sink_port")
  if (($1 == 1)); then
    echo "sink:    ${sink_cmd[*]}"
    echo "source:  ${source_cmd[*]}"
  fi
  start="$(date +%s.%N)"
  "${source_cmd[@]}"
  end="$(date +%s.%N)"
  kill "$sink_pid" 2> /dev/null || true
  wait "$sink_pid" 2> /dev/null || true
  sink_pid=""
  sink_rates+=("$(awk -v n="$messages" -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", n / (b - a)}')")
  echo "  round $1 smtp-sink: ${sink_rates[-1]}/s"
}

ratios=()
for ((round = 1; round <= runs; round++)); do
  gateway_run "$round"
  sink_run "$round"
  ratios+=("$(awk -v g="${gw_rates[-1]}" -v s="${sink_rates[-1]}" 'BEGIN{printf "%.1f", 100 * g / s}')")
done
gw_rate="$(median "${gw_rates[@]}")"
sink_rate="$(median "${sink_rates[@]}")"

# --- result ----------------------------------------------------------------------------------
echo
printf '%-32s %12s\n' "gateway accepted/s (median)" "$gw_rate"
printf '%-32s %12s\n' "smtp-sink accepted/s (median)" "$sink_rate"
printf '%-32s %11s%%\n' "ratio gateway / smtp-sink" \
  "$(awk -v g="$gw_rate" -v s="$sink_rate" 'BEGIN{printf "%.1f", 100 * g / s}')"
printf '%-32s %12s\n' "ratio in each round (%)" "${ratios[*]}"
printf '%-32s %12s\n' "gateway runs accepted/s" "${gw_rates[*]}"
printf '%-32s %12s\n' "smtp-sink runs accepted/s" "${sink_rates[*]}"
printf '%-32s %9.1f MB\n' "gateway peak RSS (VmHWM)" "$(awk -v k="$rss_kb" 'BEGIN{print k / 1024}')"
printf '%-32s %12s\n' "gateway replies 2xx (held)" "${totals[0]} (${totals[1]})"
printf '%-32s %12s\n' "gateway replies 4xx / 5xx" "${totals[2]} / ${totals[3]}"
printf '%-32s %12s\n' "gateway lost (connection)" "${totals[4]}"
