#!/usr/bin/env bash
# Leads at scale: seeds a fresh database with a release `rapport seed-demo` (LEADS leads with
# LEAD_EVENTS website events and the ~20 demo scoring rules, every lead scored), starts
# `rapport serve`, signs in as the demo admin and measures, in the same run:
#   (a) the background rescoring of every lead after a rule change, as the product does it:
#       a rule is saved through POST /admin/scoring/rules, and the time runs until
#       GET /admin/scoring/progress says every lead is scored with the new rules (the
#       worker rescoring in batches of 2,000 leads, one write transaction each); once for
#       an attribute rule and once for a behaviour rule with a half-life;
#   (b) the lead list sorted by score (GET /leads), and two filtered lists, under wrk;
#   (c) event ingestion (POST /api/v1/events with a site write key, one page view per
#       request as fast as the server takes them and at a steady ~1,000 requests/s, and
#       batches of 10), under wrk with a Lua script; the events are counted in the database
#       afterwards;
#   (d) a CSV import of IMPORT_ROWS (default 10,000) new leads with `rapport import leads`,
# and prints the load average before and after (the figures mean little on a busy machine).
#
#   benches/leads.sh        # needs wrk, curl, sqlite3 and python3
#   LEADS=20000 LEAD_EVENTS=200000 DURATION=10s benches/leads.sh
set -euo pipefail
cd "$(dirname "$0")/.."

leads=${LEADS:-100000}
events=${LEAD_EVENTS:-1000000}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18141}
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
echo "== seed-demo --leads $leads --lead-events $events"
start=$(date +%s%N)
"$binary" seed-demo --contacts 0 --open-deals 0 --closed-deals 0 \
  --leads "$leads" --lead-events "$events" >"$workdir/seed.txt"
end=$(date +%s%N)
grep -v '^password' "$workdir/seed.txt"
echo "seed wall time (with migrations and demo users): $(( (end - start) / 1000000 )) ms"
password=$(sed -n 's/^password of the demo users: //p' "$workdir/seed.txt")
echo "in the database: $(sqlite3 "$database" "SELECT COUNT(*) FROM leads") leads,"\
  "$(sqlite3 "$database" "SELECT COUNT(*) FROM lead_events") events,"\
  "$(sqlite3 "$database" "SELECT COUNT(*) FROM scoring_rules") scoring rules; grades:"\
  "$(sqlite3 "$database" "SELECT group_concat(grade || ' ' || n, ', ') FROM
     (SELECT grade, COUNT(*) AS n FROM leads GROUP BY grade ORDER BY grade)")"

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
csrf=$(curl -fs -H "$cookie" "$base/profile" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)

# (a) Saves a rule (the fields are curl arguments) and times until every lead is rescored.
rescore_after() {
  local label=$1; shift
  echo "== (a) rescoring $leads leads after adding $label"
  local start end code polls=0
  start=$(date +%s%N)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$cookie" \
    --data-urlencode "csrf_token=$csrf" --data-urlencode "intent=save" "$@" \
    "$base/admin/scoring/rules")
  [ "$code" = 303 ] || { echo "saving the rule answered $code" >&2; exit 1; }
  until curl -fs -H "$cookie" "$base/admin/scoring/progress" \
      | grep -q 'leads are scored with the current rules'; do
    polls=$((polls + 1))
    sleep 0.02
  done
  end=$(date +%s%N)
  echo "every lead rescored $(( (end - start) / 1000000 )) ms after the save ($polls polls of the progress)"
}
# The seed scored every lead (and took in today's decay): nothing should be pending.
until curl -fs -H "$cookie" "$base/admin/scoring/progress" \
    | grep -q 'leads are scored with the current rules'; do
  sleep 0.1
done
rescore_after "an attribute rule (country is France → +3)" \
  --data-urlencode "kind=attribute" --data-urlencode "field=country" \
  --data-urlencode "operator=equals" --data-urlencode "value=France" \
  --data-urlencode "points=3"
rescore_after "a behaviour rule (page_view /pricing/enterprise, each, cap 12, half-life 10 days)" \
  --data-urlencode "kind=behaviour" --data-urlencode "event_name=page_view" \
  --data-urlencode "filter_key=path" --data-urlencode "filter_operator=starts_with" \
  --data-urlencode "filter_value=/pricing/enterprise" --data-urlencode "counting=each" \
  --data-urlencode "cap=12" --data-urlencode "half_life_days=10" --data-urlencode "points=4"
echo "scoring rules now: $(sqlite3 "$database" "SELECT COUNT(*) FROM scoring_rules"); grades:"\
  "$(sqlite3 "$database" "SELECT group_concat(grade || ' ' || n, ', ') FROM
     (SELECT grade, COUNT(*) AS n FROM leads GROUP BY grade ORDER BY grade)")"

run() {
  local label=$1; shift
  echo "== $label"
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" \
    | grep -E 'Requests/sec|Latency  |^ +(50|75|90|99)%|Non-2xx|Socket errors'
}

# (b) The prioritised list.
for path in "/leads" "/leads?grade=hot" "/leads?q=garcia"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$cookie" "$base$path")
  [ "$code" = 200 ] || { echo "$path answered $code" >&2; exit 1; }
done
run "(b) lead list sorted by score, $leads leads (GET /leads)" -H "$cookie" "$base/leads"
run "lead list, hot leads only (GET /leads?grade=hot)" -H "$cookie" "$base/leads?grade=hot"
run "lead list, searched (GET /leads?q=garcia)" -H "$cookie" "$base/leads?q=garcia"

# (c) Event ingestion with a site write key, made on the admin page (shown there once).
key_page=$(curl -s -H "$cookie" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "name=Benchmark site" --data-urlencode "origins=https://www.example.com" \
  "$base/admin/sites")
key=$(printf '%s' "$key_page" | sed -n 's/.*data-key="\([^"]*\)".*/\1/p' | head -1)
if [ -z "$key" ]; then
  echo "== (c) skipped: no site write key could be made on /admin/sites"
else
  first_lead=$(sqlite3 "$database" "SELECT MIN(id) FROM leads")
  last_lead=$(sqlite3 "$database" "SELECT MAX(id) FROM leads")
  # write_lua BATCH [PAUSE_MS]: with a pause, each connection waits a random 0..2×PAUSE ms
  # between requests, so 32 connections send about 1,000 requests a second (a steady rate
  # rather than as many as the server takes).
  write_lua() {
    local batch=$1 pause=${2:-0} name=$1${2:+-paced}
    cat >"$workdir/events-$name.lua" <<EOF
-- POST /api/v1/events: $batch page view(s) per request, each of a random seeded lead.
local paths = {"/pricing", "/docs/getting-started", "/blog/lead-scoring-explained", "/", "/features"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
math.randomseed(os.time())
if $pause > 0 then
  delay = function() return math.random(0, 2 * $pause) end
end
local function event()
  return string.format('{"lead_id":%d,"name":"page_view","properties":{"path":"%s"}}',
    math.random($first_lead, $last_lead), paths[math.random(#paths)])
end
request = function()
  if $batch == 1 then
    return wrk.format(nil, "/api/v1/events", nil, event())
  end
  local events = {}
  for i = 1, $batch do events[i] = event() end
  return wrk.format(nil, "/api/v1/events", nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end
EOF
  }
  write_lua 1
  write_lua 1 25
  write_lua 10
  probe=$(curl -s -o "$workdir/probe.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
    -H "Content-Type: application/json" \
    --data "{\"lead_id\":$first_lead,\"name\":\"page_view\",\"properties\":{\"path\":\"/pricing\"}}" \
    "$base/api/v1/events")
  echo "== (c) event ingestion: a probe event answered $probe: $(cat "$workdir/probe.json")"
  count_events() { sqlite3 "$database" "SELECT COUNT(*) FROM lead_events"; }
  before=$(count_events)
  run "(c) event ingestion, one event per request (POST /api/v1/events)" \
    -s "$workdir/events-1.lua" "$base"
  after=$(count_events)
  echo "events stored: $((after - before))"
  before=$after
  run "event ingestion at a steady ~1,000 requests/s, one event per request" \
    -s "$workdir/events-1-paced.lua" "$base"
  after=$(count_events)
  echo "events stored: $((after - before))"
  before=$after
  run "event ingestion, batches of 10 events (POST /api/v1/events)" \
    -s "$workdir/events-10.lua" "$base"
  after=$(count_events)
  echo "events stored: $((after - before))"
fi

# (d) A CSV import of IMPORT_ROWS new leads on the command line (each scored and indexed),
# while the server runs.
import_rows=${IMPORT_ROWS:-10000}
python3 - "$workdir/import.csv" "$import_rows" <<'EOF'
import csv, sys
industries = ["software", "retail", "fintech", "healthcare", "education"]
with open(sys.argv[1], "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["First name", "Last name", "Email", "Company", "Company size",
                     "Industry", "Country", "Website", "Tags", "Status"])
    for n in range(int(sys.argv[2])):
        writer.writerow([f"Imported{n}", "Lead", f"imported.{n}@bench.example",
                         f"Bench Company {n % 500}", 10 + n % 3000,
                         industries[n % len(industries)], "Germany",
                         f"bench{n % 500}.example", "imported; bench", "new"])
EOF
echo "== (d) rapport import leads: $import_rows rows (skip-bad-rows, batches of 1,000)"
start=$(date +%s%N)
"$binary" import leads "$workdir/import.csv" --mode skip-bad-rows 2>/dev/null | tail -1
end=$(date +%s%N)
echo "import wall time: $(( (end - start) / 1000000 )) ms"

echo "== memory of rapport serve"
grep -E 'VmHWM|VmRSS|RssAnon|RssFile' "/proc/$server/status"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== query plans"
plan() { echo "-- $1"; sqlite3 "$database" "EXPLAIN QUERY PLAN $2"; }
plan "the list's first page" "SELECT id FROM leads WHERE status <> 'converted'
  ORDER BY score DESC, id DESC LIMIT 51"
plan "the background rescoring's batch" "SELECT id FROM leads WHERE scored_version < 99
  ORDER BY scored_version, id LIMIT 2000"
plan "a batch's events" "SELECT lead_id, name, properties, occurred_at FROM lead_events
  WHERE lead_id IN (1, 2, 3)"
