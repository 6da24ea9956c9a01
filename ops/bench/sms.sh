#!/usr/bin/env bash
# SMPP benchmark (issue 9): 50,000 one-part texts to as many numbers through verteiler's SMPP
# client (gateway/examples/smpp_bench.rs, the SmppProvider the SMS loop uses) to the SMSC
# simulator (test-sink's smsc-sim, a process of its own) on loopback, with a window of 50
# outstanding submit_sm. The simulator answers every submit and sends a delivery receipt for
# it, which the client answers too. Reports submits per second (issue 9's target: >= 2,000/s),
# the time until every receipt was taken, and the client's peak RSS — twice:
#   client  the provider driven directly, receipts counted in memory (the client's figure);
#   store   the texts queued in a SQLite store's SMS outbox and worked off by the SMS loop as
#           `verteiler serve` does, every outcome, part id and receipt recorded.
#
# Usage: ops/bench/sms.sh
#   env TEXTS (default 50000), WINDOW (default 50). CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../.."
source ops/bench/common.sh

texts="${TEXTS:-50000}"
window="${WINDOW:-50}"
cargo build --release --quiet -p verteiler-test-sink --bin smsc-sim
cargo build --release --quiet -p verteiler-gateway --example smpp_bench
target="${CARGO_TARGET_DIR:-$PWD/target}/release"

port="$(free_port)"
"$target/smsc-sim" "127.0.0.1:$port" > "$work/smsc.log" 2>&1 &
sink_pid=$!
wait_for_port "$port" "$sink_pid" "$work/smsc.log"

for mode in client store; do
  echo "SMPP $mode -> smsc-sim on 127.0.0.1:$port: $texts texts, window $window"
  result="$("$target/examples/smpp_bench" "127.0.0.1:$port" "$texts" "$window" "$mode")"
  echo "$result"
  rate="$(sed -E 's/.*submits_per_second=([0-9]+).*/\1/' <<< "$result")"
  rss="$(sed -E 's/.*peak_rss_kib=([0-9]+).*/\1/' <<< "$result")"
  echo "$mode: $rate submits per second (target >= 2000), peak RSS $((rss / 1024)) MiB"
done
