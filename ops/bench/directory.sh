#!/usr/bin/env bash
# Directory benchmark (issue 2): a 400,000-member organisation on SQLite.
#   1. `verteiler demo --members 400000`            generate + import + audiences, into DB A
#   2. `verteiler import units/members` of the same 400,000-row export into an empty DB B
#   3. the same import again (idempotent: nothing changes)
#   4. `verteiler audience resolve alle-mitglieder`  stream the whole organisation from DB A
# Each step reports wall time and the peak RSS of the verteiler process (GNU time).
# Targets on a 2-core machine: import < 60 s, full resolution < 2 s, peak RSS < 200 MB.
# Usage: ops/bench/directory.sh [MEMBERS]   (default 400000)
set -euo pipefail
cd "$(dirname "$0")/../.."
members="${1:-400000}"

command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time; }
cargo build --release --quiet
bin="$PWD/target/release/verteiler"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RUST_LOG=warn

measure() { # name, command...
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err" || {
    echo "$name failed:"; cat "$work/out" "$work/err"; exit 1; }
  read -r secs kb < "$work/time"
  printf '%-44s %8.2f s   peak RSS %6.1f MB\n' "$name" "$secs" "$(awk "BEGIN{print $kb/1024}")"
}

echo "verteiler directory benchmark: $members members, SQLite, $(nproc) cores"
"$bin" demo --members "$members" --write-csv "$work/csv" > /dev/null
printf 'export: %s rows, %s MB\n' "$(($(wc -l < "$work/csv/members.csv") - 1))" \
  "$(du -m "$work/csv/members.csv" | cut -f1)"

export VERTEILER_DATABASE__URL="sqlite://$work/a.db"
measure "demo --members $members (DB A)" "$bin" demo --members "$members"

export VERTEILER_DATABASE__URL="sqlite://$work/b.db"
measure "import units (DB B)" "$bin" import units "$work/csv/units.csv"
measure "import members, first import (DB B)" "$bin" import members "$work/csv/members.csv"
measure "import members, same file again (DB B)" "$bin" import members "$work/csv/members.csv"
grep -E "rows read" "$work/out"

export VERTEILER_DATABASE__URL="sqlite://$work/a.db"
measure "audience resolve alle-mitglieder (DB A)" "$bin" audience resolve alle-mitglieder
cat "$work/out"
measure "audience resolve oldenfelde (DB A)" "$bin" audience resolve oldenfelde
cat "$work/out"
