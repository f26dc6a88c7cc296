#!/usr/bin/env bash
# The sales pipeline at scale: seeds a fresh database with a release `rapport seed-demo`
# (CONTACTS contacts, then a demo pipeline of eight stages with OPEN_DEALS open deals and
# CLOSED_DEALS won and lost deals, each with its stage history), starts `rapport serve`,
# signs in as the demo admin and measures, in the same run:
#   - the static-file ceiling (GET /static/app.css),
#   - the board of that pipeline (GET /pipeline?pipeline=<id>),
#   - stage moves (POST /deals/{id}/move): MOVES plain form posts (answered 303) and MOVES
#     htmx posts (answered with the board's fragment), each timed by curl on loopback,
#   - the pipeline report over every closed deal (GET /reports/pipeline?…&from=…&to=…):
#     single requests one after another, then under wrk,
# and prints the load average before and after (the figures mean little on a busy machine).
#
#   benches/pipeline.sh        # needs wrk, curl, sqlite3 and python3
#   CLOSED_DEALS=20000 DURATION=10s benches/pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."

contacts=${CONTACTS:-20000}
open_deals=${OPEN_DEALS:-5000}
closed_deals=${CLOSED_DEALS:-100000}
moves=${MOVES:-300}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18131}
workdir=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$workdir"' EXIT

cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-$PWD/target}/release/rapport
database=$workdir/rapport.db
export RAPPORT_DATABASE_URL="sqlite://$database"
export RAPPORT_BIND="127.0.0.1:$port"
export RAPPORT_MAIL_DIR="$workdir/mail"
export RAPPORT_LOG=warn
base="http://127.0.0.1:$port"

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo "== seed-demo --contacts $contacts --open-deals $open_deals --closed-deals $closed_deals"
start=$(date +%s%N)
"$binary" seed-demo --contacts "$contacts" --open-deals "$open_deals" \
  --closed-deals "$closed_deals" >"$workdir/seed.txt"
end=$(date +%s%N)
grep -v '^password' "$workdir/seed.txt"
echo "seed wall time (with migrations and demo users): $(( (end - start) / 1000000 )) ms"
password=$(sed -n 's/^password of the demo users: //p' "$workdir/seed.txt")
pipeline=$(sed -n 's/^seeded pipeline \([0-9]*\) .*/\1/p' "$workdir/seed.txt")
[ -n "$pipeline" ] || { echo "no pipeline was seeded" >&2; exit 1; }

if curl -s -o /dev/null "$base/healthz"; then
  echo "port $port is taken by another server; set PORT" >&2
  exit 1
fi
(cd "$workdir" && exec "$binary" serve) &
server=$!
until curl -fs "$base/healthz" >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || { echo "rapport serve did not start" >&2; exit 1; }
  sleep 0.05
done

jar="$workdir/cookies"
token=$(curl -fs -c "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -b "$jar" -c "$jar" -o /dev/null \
  --data-urlencode "csrf_token=$token" --data-urlencode "email=admin@demo.example" \
  --data-urlencode "password=$password" "$base/login"
session=$(awk '$6 == "rapport_session" { print $7 }' "$jar")
[ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }
cookie="Cookie: rapport_session=$session"
# The session's CSRF token, for the moves (every page's sign-out form carries it).
csrf=$(curl -fs -H "$cookie" "$base/profile" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)

# The report covers every seeded deal: closed ones were created over the last two years.
from=$(date -u -d '800 days ago' +%F)
to=$(date -u +%F)
board="/pipeline?pipeline=$pipeline"
report="/reports/pipeline?pipeline=$pipeline&from=$from&to=$to"

for path in "$board" "$report"; do
  code=$(curl -s -o "$workdir/page.html" -w '%{http_code}' -H "$cookie" "$base$path")
  [ "$code" = 200 ] || { echo "$path answered $code" >&2; exit 1; }
done
closed_in_db=$(sqlite3 "$database" "SELECT COUNT(*) FROM deals WHERE pipeline_id = $pipeline AND status <> 'open'")
echo "pipeline $pipeline: $closed_in_db closed deals, $(sqlite3 "$database" "SELECT COUNT(*)
  FROM deal_stage_moves m JOIN deals d ON d.id = m.deal_id WHERE d.pipeline_id = $pipeline") stage moves"

run() {
  local label=$1; shift
  echo "== $label"
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" \
    | grep -E 'Requests/sec|Latency  |^ +(50|75|90|99)%|Non-2xx|Socket errors'
}

# Prints count, median, p90, p99 and max (ms) of the times (seconds, one a line) on stdin.
summary() {
  python3 -c '
import sys
times = sorted(float(line) * 1000 for line in sys.stdin if line.strip())
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"{len(times)} requests: median {pick(0.5):.1f} ms, p90 {pick(0.9):.1f} ms, "
      f"p99 {pick(0.99):.1f} ms, max {times[-1]:.1f} ms")'
}

run "static file (GET /static/app.css)" "$base/static/app.css"
run "board, $open_deals open deals over 8 stages (GET $board)" -H "$cookie" "$base$board"

# Moves: open deals of the pipeline, each moved once to the next stage (the first stage
# when it is in the last), with the version read beforehand.
sqlite3 -separator ' ' "$database" "
  WITH stages AS (
    SELECT id, position,
           LEAD(id) OVER (ORDER BY position, id) AS next_id,
           FIRST_VALUE(id) OVER (ORDER BY position, id) AS first_id
    FROM pipeline_stages WHERE pipeline_id = $pipeline)
  SELECT d.id, d.version, COALESCE(s.next_id, s.first_id)
  FROM deals d JOIN stages s ON s.id = d.stage_id
  WHERE d.pipeline_id = $pipeline AND d.status = 'open'
  ORDER BY d.id LIMIT $(( moves * 2 ))" >"$workdir/moves.txt"
move() {
  local kind=$1 id=$2 version=$3 stage=$4
  local extra=()
  [ "$kind" = htmx ] && extra=(-H "HX-Request: true")
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "$cookie" "${extra[@]}" \
    --data-urlencode "csrf_token=$csrf" --data-urlencode "version=$version" \
    --data-urlencode "stage_id=$stage" "$base/deals/$id/move"
}
count_moves() {
  sqlite3 "$database" "SELECT COUNT(*) FROM deal_stage_moves m JOIN deals d ON d.id = m.deal_id
    WHERE d.pipeline_id = $pipeline"
}
before=$(count_moves)
head -n "$moves" "$workdir/moves.txt" | while read -r id version stage; do
  move plain "$id" "$version" "$stage"
done >"$workdir/plain.txt"
tail -n +"$(( moves + 1 ))" "$workdir/moves.txt" | while read -r id version stage; do
  move htmx "$id" "$version" "$stage"
done >"$workdir/htmx.txt"
echo "== stage move, plain form (POST /deals/{id}/move → 303), timed by curl on loopback"
echo "answers: $(cut -d' ' -f1 "$workdir/plain.txt" | sort | uniq -c | xargs)"
cut -d' ' -f2 "$workdir/plain.txt" | summary
echo "== stage move from the board (htmx, answered with the board fragment)"
echo "answers: $(cut -d' ' -f1 "$workdir/htmx.txt" | sort | uniq -c | xargs)"
cut -d' ' -f2 "$workdir/htmx.txt" | summary
echo "stage moves recorded: $(( $(count_moves) - before )) of $(wc -l <"$workdir/moves.txt") posted"

echo "== pipeline report over $closed_in_db closed deals, one request at a time (GET $report)"
for _ in $(seq 1 15); do
  curl -s -o /dev/null -w '%{time_total}\n' -H "$cookie" "$base$report"
done | summary
run "pipeline report under load (GET $report)" --timeout 30s -H "$cookie" "$base$report"
echo "== pipeline report, default range (last 90 days; GET /reports/pipeline?pipeline=$pipeline)"
for _ in $(seq 1 15); do
  curl -s -o /dev/null -w '%{time_total}\n' -H "$cookie" "$base/reports/pipeline?pipeline=$pipeline"
done | summary

echo "== memory of rapport serve"
grep -E 'VmHWM|VmRSS|RssAnon|RssFile' "/proc/$server/status"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== query plans of the report"
plan() { echo "-- $1"; sqlite3 "$database" "EXPLAIN QUERY PLAN $2"; }
plan "deals created in the range" "SELECT id FROM deals WHERE pipeline_id = $pipeline
  AND created_at >= '$from' AND created_at < '$to'"
plan "their moves, in journey order" "SELECT deal_id, to_stage_id, to_status, moved_at
  FROM deal_stage_moves WHERE deal_id BETWEEN 1 AND 1000000 ORDER BY deal_id, moved_at, id"
plan "deals lost in the range" "SELECT COUNT(*) FROM deals WHERE pipeline_id = $pipeline
  AND status = 'lost' AND closed_at >= '$from' AND closed_at < '$to'"
plan "deals won in the range" "SELECT currency, value_minor, created_at, closed_at FROM deals
  WHERE pipeline_id = $pipeline AND status = 'won' AND closed_at >= '$from' AND closed_at < '$to'"
