#!/usr/bin/env bash
# sqlmap against the portal's forms that take input without a sign-in: the sign-in form (link
# and password), the public subscribe form and the unsubscribe page (both the confirmation page and
# the one-click POST). Not part of CI (a few minutes); run it after changes to the SQL behind them:
#
#   bash ops/security/sqlmap.sh            # builds, starts `serve --demo` in a scratch directory
#
# Needs Debian's sqlmap (`apt-get install sqlmap`). Exits 1 if sqlmap reports an injection point.
#
# The portal limits sign-in and subscribe requests per client; a scanner from one address would
# see nothing but "too many requests". The scratch instance therefore trusts 127.0.0.1 as a proxy
# (`http.trusted_proxies`) and sqlmap's `xforwardedfor` tamper script sends a random
# X-Forwarded-For with every request, so each probe is judged by the real handler. A wrong
# password (401), an unknown unsubscribe token (404) and a limit (429) are answers to probe, not
# reasons to stop (`--ignore-code`); the unsubscribe token is a real one, from a copy
# the demo chair's message left in the outbox.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v sqlmap >/dev/null || { echo "sqlmap is not installed: apt-get install sqlmap" >&2; exit 2; }

cargo build --quiet --bin verteiler
bin="$PWD/target/debug/verteiler"
scratch=$(mktemp -d)
port=${SQLMAP_PORT:-18480}
base="http://127.0.0.1:$port"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT

(
  cd "$scratch"
  VERTEILER_HTTP__LISTEN="127.0.0.1:$port" \
  VERTEILER_HTTP__TRUSTED_PROXIES=127.0.0.1 \
  VERTEILER_SMTP__LISTEN="127.0.0.1:$((port + 1))" \
  VERTEILER_DELIVERY__UNDO_WINDOW_SECS=0 \
    exec "$bin" serve --demo >"$scratch/serve.log" 2>&1
) &
server=$!
for _ in $(seq 1 120); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fs "$base/healthz" >/dev/null || { cat "$scratch/serve.log"; echo "serve did not start" >&2; exit 2; }

# A real unsubscribe token: the Oldenfelde chair writes to their list, and one delivered copy's
# List-Unsubscribe link names it.
python3 - "$((port + 1))" <<'PY'
import smtplib, ssl, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "ole.brandt@example.org"; m["To"] = "oldenfelde@lists.example.org"
m["Subject"] = "sqlmap"; m.set_content("Probe.")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.starttls(context=ssl._create_unverified_context())
    s.login("ole.brandt@example.org", "oldenfelde-vorsitz")
    s.send_message(m)
PY
token=
for _ in $(seq 1 60); do
  token=$(grep -rhoa 'unsubscribe/[A-Za-z0-9_-]*' "$scratch/data/outbox" 2>/dev/null | head -n 1 | cut -d/ -f2 || true)
  [ -n "$token" ] && break
  sleep 1
done
[ -n "$token" ] || { echo "no copy with an unsubscribe link reached the outbox" >&2; exit 2; }

scan() { # name, then sqlmap arguments
  local name=$1
  shift
  echo "=== $name"
  sqlmap --batch --level 2 --flush-session --tamper=xforwardedfor --ignore-code=401,404,429 \
    --output-dir="$scratch/sqlmap" "$@" 2>&1 | tee "$scratch/$name.log" |
    grep -E "injectable|identified the following|CRITICAL|ERROR|times$" || true
}

scan sign-in-link -u "$base/signin" --data "csrf=x&email=ada@example.org" \
  --csrf-token=csrf --csrf-url="$base/signin" -p email
scan sign-in-password -u "$base/signin/password" --data "csrf=x&email=ada@example.org&password=secret" \
  --csrf-token=csrf --csrf-url="$base/signin" -p "email,password"
scan subscribe -u "$base/lists/klima" --data "csrf=x&email=ada@example.org" \
  --csrf-token=csrf --csrf-url="$base/lists/klima" -p email
scan unsubscribe-page -u "$base/unsubscribe/$token*"
# RFC 8058 one-click: the POST carries no CSRF token (a mail client sends it).
scan unsubscribe-post -u "$base/unsubscribe/$token*" --data "List-Unsubscribe=One-Click"

if grep -l "identified the following injection point" "$scratch"/*.log; then
  echo "sqlmap found an injection point (logs above)" >&2
  exit 1
fi
echo "sqlmap found no injection in any of the forms"
