#!/usr/bin/env bash
# Contacts at scale: seeds CONTACTS (default 1,000,000) demo contacts into a fresh database
# with a release `rapport seed-demo` (timed), starts `rapport serve`, signs in and measures
# the contacts list (first page and 10,000 rows deep by cursor), a filtered list (owner +
# tag), a contact page with 50 timeline entries, a search for a common surname, and the
# static-file ceiling in the same run; then peak memory and the query plans; last, a CSV
# import of 100,000 new contacts into the seeded database (timed).
#
#   benches/contacts.sh        # needs wrk, curl, sqlite3 and python3
#   CONTACTS=200000 DURATION=10s IMPORT_ROWS=10000 benches/contacts.sh
set -euo pipefail
cd "$(dirname "$0")/.."

contacts=${CONTACTS:-1000000}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18098}
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

echo "== seed-demo --contacts $contacts"
start=$(date +%s%N)
"$binary" seed-demo --contacts "$contacts" >"$workdir/seed.txt"
end=$(date +%s%N)
grep -v '^password' "$workdir/seed.txt"
echo "seed wall time (with migrations and demo users): $(( (end - start) / 1000000 )) ms"
password=$(sed -n 's/^password of the demo users: //p' "$workdir/seed.txt")
busy=$(sed -n 's/^contact \([0-9]*\) has 50 timeline entries$/\1/p' "$workdir/seed.txt")
[ -n "$busy" ] || busy=$(sqlite3 "$database" \
  "SELECT contact_id FROM timeline_entries GROUP BY contact_id ORDER BY COUNT(*) DESC LIMIT 1")

(cd "$workdir" && exec "$binary" serve) &
server=$!
until curl -fs "$base/healthz" >/dev/null 2>&1; do sleep 0.05; done

jar="$workdir/cookies"
token=$(curl -fs -c "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -b "$jar" -c "$jar" -o /dev/null \
  --data-urlencode "csrf_token=$token" --data-urlencode "email=admin@demo.example" \
  --data-urlencode "password=$password" "$base/login"
session=$(awk '$6 == "rapport_session" { print $7 }' "$jar")
[ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }

# The cursor of the 10,000th contact by name, as the list encodes it (`<id>~<sort_name>`).
cursor=$(sqlite3 "$database" "SELECT id || '~' || sort_name FROM contacts
  WHERE archived_at IS NULL ORDER BY sort_name, id LIMIT 1 OFFSET 9999")
deep="/contacts?after=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$cursor")"
owner=$(sqlite3 "$database" "SELECT id FROM users WHERE email = 'sam.sales@demo.example'")
filtered="/contacts?owner=$owner&tag=vip"

# Every page must answer 200 with rows before it is measured.
for path in /contacts "$deep" "$filtered" "/contacts/$busy" "/search?q=smith"; do
  code=$(curl -s -o "$workdir/page.html" -w '%{http_code}' -H "Cookie: rapport_session=$session" "$base$path")
  [ "$code" = 200 ] || { echo "$path answered $code" >&2; exit 1; }
done

run() {
  local label=$1; shift
  echo "== $label"
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" \
    | grep -E 'Requests/sec|Latency  |^ +(50|99)%'
}
cookie="Cookie: rapport_session=$session"
run "static file (GET /static/app.css)" "$base/static/app.css"
run "contacts list, first page (GET /contacts)" -H "$cookie" "$base/contacts"
run "contacts list, 10,000 rows deep (GET $deep)" -H "$cookie" "$base$deep"
run "filtered list, owner + tag (GET $filtered)" -H "$cookie" "$base$filtered"
run "contact page with 50 timeline entries (GET /contacts/$busy)" -H "$cookie" "$base/contacts/$busy"
run "search for a common surname (GET /search?q=smith)" -H "$cookie" "$base/search?q=smith"

echo "== memory of rapport serve"
grep -E 'VmHWM|VmRSS|RssAnon|RssFile' "/proc/$server/status"

echo "== query plans"
plan() { echo "-- $1"; sqlite3 "$database" "EXPLAIN QUERY PLAN $2"; }
plan "first page" "SELECT * FROM contacts WHERE archived_at IS NULL
  ORDER BY sort_name, id LIMIT 51"
plan "deep page" "SELECT * FROM contacts WHERE archived_at IS NULL
  AND (sort_name, id) > ('m', 1) ORDER BY sort_name, id LIMIT 51"
plan "owner + tag" "SELECT contacts.* FROM contact_tags
  JOIN contacts ON contacts.id = contact_tags.contact_id
  WHERE contact_tags.tag_id = (SELECT id FROM tags WHERE name = 'vip')
  AND contact_tags.owner_id = $owner AND contact_tags.archived_at IS NULL
  ORDER BY contact_tags.sort_name, contact_tags.contact_id LIMIT 51"
plan "timeline" "SELECT * FROM timeline_entries WHERE contact_id = $busy
  ORDER BY occurred_at DESC, id DESC LIMIT 21"
plan "search" "SELECT rowid, rank FROM contacts_fts WHERE contacts_fts MATCH '\"smith\"*'
  ORDER BY rank LIMIT 20"

# CSV import of IMPORT_ROWS (default 100,000) new contacts into the seeded database, on the
# command line (the web import runs the same code as a background job), server stopped.
kill "$server" && wait "$server" 2>/dev/null || true
server=
import_rows=${IMPORT_ROWS:-100000}
python3 - "$workdir/import.csv" "$import_rows" <<'PY'
import csv, sys
first = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jia", "Kai", "Lena"]
last = ["Smith", "Jones", "Garcia", "Müller", "Rossi", "Dubois", "Tanaka", "Nguyen", "Okafor"]
with open(sys.argv[1], "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["First name", "Last name", "Email", "Phone", "Company", "Job title",
                     "Tags", "Lifecycle stage", "City"])
    for n in range(int(sys.argv[2])):
        writer.writerow([first[n % len(first)], last[n % len(last)],
                         f"imported.{n}@bench{n % 700}.example", f"+44 20 7{n:07d}",
                         f"Imported Co {n % 2000}", "Buyer", "imported; bench", "lead",
                         "London"])
PY
echo "== rapport import contacts: $import_rows rows into the seeded database (skip bad rows)"
start=$(date +%s%N)
"$binary" import contacts "$workdir/import.csv" --mode skip-bad-rows \
  --owner admin@demo.example 2>/dev/null | tail -1
end=$(date +%s%N)
echo "import wall time: $(( (end - start) / 1000000 )) ms"
