#!/usr/bin/env bash
# HTTP benchmark of a release `rapport serve`: requests/s and latency of the login page, an
# authenticated home page and a static file (the ceiling of this machine), plus start-up time
# and resident memory. Results go to stdout; copy them into BENCHMARKS.md.
#
#   benches/http.sh            # needs wrk (apt-get install wrk) and curl
#   DURATION=20s CONNECTIONS=32 THREADS=2 benches/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-20s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18099}
workdir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$workdir"' EXIT

cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-$PWD/target}/release/rapport
export RAPPORT_DATABASE_URL="sqlite://$workdir/rapport.db"
export RAPPORT_BIND="127.0.0.1:$port"
export RAPPORT_MAIL_DIR="$workdir/mail"
export RAPPORT_LOG=warn
base="http://127.0.0.1:$port"

"$binary" migrate >/dev/null
"$binary" user create --email bench@example.com --name "Bench User" --role admin \
  --password "correct horse battery staple" >/dev/null

start=$(date +%s%N)
(cd "$workdir" && exec "$binary" serve) &
server=$!
until curl -fs "$base/healthz" >/dev/null 2>&1; do sleep 0.005; done
ready=$(date +%s%N)
echo "start-up to first healthy answer: $(( (ready - start) / 1000000 )) ms"

# Sign in as a browser would: take the CSRF cookie and token from the login page.
jar="$workdir/cookies"
token=$(curl -fs -c "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -b "$jar" -c "$jar" -o /dev/null \
  --data-urlencode "csrf_token=$token" --data-urlencode "email=bench@example.com" \
  --data-urlencode "password=correct horse battery staple" "$base/login"
session=$(awk '$6 == "rapport_session" { print $7 }' "$jar")
[ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }

run() {
  local label=$1; shift
  echo "== $label"
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" \
    | grep -E 'Requests/sec|Latency  |^ +(50|99)%'
}
run "static file (GET /static/app.css)" "$base/static/app.css"
run "login page (GET /login)" "$base/login"
run "home page, signed in (GET /)" -H "Cookie: rapport_session=$session" "$base/"

echo "== memory"
grep -E 'VmHWM|VmRSS|RssAnon|RssFile' "/proc/$server/status"
