#!/usr/bin/env bash
# Every benchmark in sequence, and one Markdown table of what they measured: measure, ours, the
# reference the script measured in the same run, the ratio, the goal, and whether it is met.
# Run it on a quiet machine (no build or test beside it); every script's whole output is kept.
#
# Usage: ops/bench/all.sh
#   QUICK=1   smaller sizes (fan-out 20,000 members, directory and portal 50,000, ingress one
#             round of 4,000 messages, wrk 5 s): checks that every script runs, in minutes;
#             its figures are not the goals' figures.
#   OUT=DIR   where each script's output goes (default: a new directory under target/bench/).
#   ONLY="fanout directory …"  a subset of: fanout fanout-dkim fanout-postgres ingress directory
#             portal sms.
set -euo pipefail
cd "$(dirname "$0")/../.."

quick="${QUICK:-0}"
out="${OUT:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
only=" ${ONLY:-fanout fanout-dkim fanout-postgres ingress directory portal sms} "
if [[ $quick == 1 ]]; then
  fan_members=20000 dir_members=50000 portal_members=50000 ingress=(MESSAGES=4000 RUNS=1)
  wrk_duration=5s texts=10000
else
  fan_members=100000 dir_members=400000 portal_members=400000 ingress=()
  wrk_duration=20s texts=50000
fi

rows=()
# measure, ours, reference, ratio, goal, met (yes/no/—)
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }
# The first field after `label` on the first line holding it in a script's output.
value() { # file, label
  awk -v l="$2" 'index($0, l) { rest = substr($0, index($0, l) + length(l)); split(rest, a, " ");
    gsub(/%/, "", a[1]); print a[1]; exit }' "$1"
}
met() { # value, comparison (ge|le), goal
  awk -v v="$1" -v g="$3" -v c="$2" 'BEGIN{ if (v == "") { print "—"; exit } ok = (c == "ge") ? (v >= g) : (v <= g); print ok ? "yes" : "no" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print "—"; else printf "%.1f %%", 100 * a / b }'; }

run() { # name, log, command…
  local name="$1" log="$2"; shift 2
  [[ $only == *" $name "* ]] || return 1
  echo "=== $name: $*" | tee "$log"
  local started=$SECONDS
  if ! env "$@" >> "$log" 2>&1; then
    echo "$name failed; its output is in $log"; tail -n 5 "$log"
    row "$name" "failed" "—" "—" "—" "no"
    return 1
  fi
  echo "    $((SECONDS - started)) s"
}

if run fanout "$out/fanout.log" MEMBERS="$fan_members" ops/bench/fanout.sh; then
  f="$out/fanout.log"
  ours="$(value "$f" "gateway recipients/s")"; ceiling="$(value "$f" "ceiling smtp-source → smtp-sink /s")"
  peer="$(value "$f" "peer Postfix → smtp-sink recipients/s")"
  share="$(awk -v a="$ours" -v b="$ceiling" 'BEGIN{print 100 * a / b}')"
  row "fan-out, SQLite, no DKIM (copies/s)" "$ours" "ceiling $ceiling" "$(ratio "$ours" "$ceiling")" "≥ 60 % of the ceiling" "$(met "$share" ge 60)"
  if [[ -n $peer ]]; then
    row "fan-out vs the Postfix peer" "$ours" "Postfix $peer" "$(ratio "$ours" "$peer")" "≥ 500 %" "$(met "$(awk -v a="$ours" -v b="$peer" 'BEGIN{print 100 * a / b}')" ge 500)"
  fi
  sqlite_rate="$ours"
fi

if run fanout-dkim "$out/fanout-dkim.log" MEMBERS="$fan_members" PEER=0 ops/bench/fanout.sh --dkim; then
  f="$out/fanout-dkim.log"
  ours="$(value "$f" "gateway recipients/s")"; ceiling="$(value "$f" "ceiling smtp-source → smtp-sink /s")"
  row "fan-out, SQLite, RSA-2048 DKIM (copies/s)" "$ours" "ceiling $ceiling" "$(ratio "$ours" "$ceiling")" "≥ 4,000/s" "$(met "$ours" ge 4000)"
fi

if run fanout-postgres "$out/fanout-postgres.log" MEMBERS="$fan_members" PEER=0 DATABASE=postgres INSTANCES=2 ops/bench/fanout.sh; then
  f="$out/fanout-postgres.log"
  one="$(value "$f" "gateway recipients/s")"; two="$(value "$f" "2 instances: recipients/s")"
  if [[ -n ${sqlite_rate:-} ]]; then
    row "fan-out, PostgreSQL, one instance (copies/s)" "$one" "SQLite $sqlite_rate (other run)" "$(ratio "$one" "$sqlite_rate")" "≥ 70 % of SQLite" "$(met "$(awk -v a="$one" -v b="$sqlite_rate" 'BEGIN{print 100 * a / b}')" ge 70)"
  else
    row "fan-out, PostgreSQL, one instance (copies/s)" "$one" "—" "—" "≥ 70 % of SQLite" "—"
  fi
  row "fan-out, PostgreSQL, two instances (copies/s)" "$two" "one instance $one" "$(ratio "$two" "$one")" "≥ 170 %" "$(met "$(awk -v a="$two" -v b="$one" 'BEGIN{print 100 * a / b}')" ge 170)"
fi

if run ingress "$out/ingress.log" "${ingress[@]}" ops/bench/ingress.sh; then
  f="$out/ingress.log"
  ours="$(value "$f" "gateway accepted/s (median)")"; sink="$(value "$f" "smtp-sink accepted/s (median)")"
  share="$(awk -v a="$ours" -v b="$sink" 'BEGIN{print 100 * a / b}')"
  row "durable SMTP ingress, SQLite (accepted/s, median)" "$ours" "smtp-sink $sink" "$(ratio "$ours" "$sink")" "≥ 40 % of smtp-sink" "$(met "$share" ge 40)"
fi

if run directory "$out/directory.log" ops/bench/directory.sh "$dir_members"; then
  f="$out/directory.log"
  resolve="$(grep -F "audience resolve alle-mitglieder" "$f" | awk '{for (i = 1; i <= NF; i++) if ($i == "s") print $(i - 1)}' | head -n 1)"
  resolve_mb="$(grep -F "audience resolve alle-mitglieder" "$f" | awk '{print $(NF - 1)}')"
  import="$(grep -F "import members, first import" "$f" | awk '{for (i = 1; i <= NF; i++) if ($i == "s") print $(i - 1)}' | head -n 1)"
  import_mb="$(grep -F "import members, first import" "$f" | awk '{print $(NF - 1)}')"
  row "resolve alle-mitglieder, $dir_members members (s; MB)" "$resolve s; $resolve_mb MB" "—" "—" "< 1 s, < 100 MB" "$(met "$resolve" le 1)"
  row "import of $dir_members members (s; MB)" "$import s; $import_mb MB" "—" "—" "< 15 s, < 200 MB" "$(met "$import" le 15)"
fi

if run portal "$out/portal.log" MEMBERS="$portal_members" DURATION="$wrk_duration" ops/bench/portal.sh; then
  f="$out/portal.log"
  line="$(grep -F "member (/me/subscriptions)" "$f")"; health="$(grep -F "healthz (/healthz)" "$f" | awk '{print $3}')"
  rps="$(awk '{print $3}' <<< "$line")"; p99="$(awk '{for (i = 1; i <= NF; i++) if ($i == "p99") print $(i + 1)}' <<< "$line")"
  p99_ms="$(awk -v p="$p99" 'BEGIN{ v = p + 0; if (p ~ /us$/) v /= 1000; else if (p ~ /ms$/) v = v; else if (p ~ /s$/) v *= 1000; print v }')"
  row "portal member page, 64 connections (req/s; p99)" "$rps; p99 $p99" "healthz $health" "$(ratio "$rps" "$health")" "p99 < 20 ms" "$(met "$p99_ms" le 20)"
fi

if run sms "$out/sms.log" TEXTS="$texts" ops/bench/sms.sh; then
  f="$out/sms.log"
  rate="$(grep -E "submits per second" "$f" | head -n 1 | awk '{print $2}')"
  row "SMPP submits (texts/s)" "$rate" "—" "—" "≥ 2,000/s" "$(met "$rate" ge 2000)"
fi

echo
echo "Benchmarks of $(git rev-parse --short HEAD), $(date -u +%F), $(nproc) cores$([[ $quick == 1 ]] && echo ', QUICK=1 (smaller sizes)'); outputs in $out"
echo
echo "| measure | ours | reference | ratio | goal | met |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
