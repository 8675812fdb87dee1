#!/usr/bin/env bash
# synced_golden.sh — done-when test 1 of synced tables: every golden Delta
# table with expected/ rows ($LAKESYNC_TESTDATA/delta-golden/<case>) is
# loaded by `lakesync synced-table --mode snapshot` into a throwaway
# PostgreSQL 15 and must equal expected/*.parquet, compared through DuckDB
# (synced_golden.mjs: counts, EXCEPT ALL both ways on typed values, then on
# canonical text).
#
# Cases the Delta scan itself cannot match yet are listed in KNOWN_SCAN
# with the reason: their mismatch is reported as SKIP, not FAIL (a PASS is
# still reported as PASS).  A summary table is printed at the end.
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=synced_golden
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
golden=${LAKESYNC_TESTDATA:-$root/../shared/testdata}/delta-golden
oracle_modules=$root/tests/oracle/node_modules/@duckdb/node-api
declare -A KNOWN_SCAN=(
	[data-reader-partition-values]="timestamp partition values are read as UTC; the table was written with a session time zone (the Delta scan's golden test reports the same)"
)

[ -x "$bin" ] || { echo "SKIP $name (no $bin: run make)"; exit 0; }
[ -d "$golden" ] || { echo "SKIP $name (no test data at $golden)"; exit 0; }
command -v node >/dev/null && [ -d "$oracle_modules" ] ||
	{ echo "SKIP $name (no node/DuckDB oracle)"; exit 0; }
pg_start || { echo "SKIP $name (no usable PostgreSQL)"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-golden.XXXXXX")
chmod 755 "$work"
trap 'pg_stop; rm -rf "$work"' EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
lk_psql -c "CREATE SCHEMA golden" || { echo "FAIL $name (create schema)"; exit 1; }

fail=0
manifest="$work/manifest.json"
echo "[" >"$manifest"
first=1
declare -A loaded
for dir in "$golden"/*/; do
	case=$(basename "$dir")
	[ -d "$dir/expected" ] || continue
	table="golden.\"$case\""
	if ! "$bin" synced-table --source "$dir/delta" --target "$dsn" --table "$table" \
			--mode snapshot --jobs 2 >"$work/$case.log" 2>&1; then
		why=$(grep -m1 'error' "$work/$case.log")
		if [ -n "${KNOWN_SCAN[$case]:-}" ]; then
			echo "SKIP $name $case (load failed: $why; known: ${KNOWN_SCAN[$case]})"
		else
			echo "FAIL $name $case (load failed: $why)"
			fail=1
		fi
		loaded[$case]=no
		continue
	fi
	loaded[$case]=yes
	# column names and the export query, by position
	cols=$(lk_psql -At -c "SELECT json_agg(attname ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped")
	sel=$(lk_psql -At -c "SELECT string_agg(format('%s AS c%s',
			CASE WHEN t.typcategory = 'A' OR a.atttypid = 'jsonb'::regtype
			     THEN format('to_jsonb(%I)', attname) ELSE format('%I::text', attname) END,
			attnum - 1), ', ' ORDER BY attnum)
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped")
	# CSV with quote/delimiter bytes JSON never contains: the text is verbatim
	lk_psql -c "COPY (SELECT row_to_json(s) FROM (SELECT $sel FROM $table) s)
		TO STDOUT WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')" >"$work/$case.jsonl"
	rows=$(wc -l <"$work/$case.jsonl")
	[ $first = 1 ] || echo "," >>"$manifest"
	first=0
	printf '{"name": "%s", "expected": "%s", "export": "%s", "columns": %s, "rows": %d}\n' \
		"$case" "$dir/expected" "$work/$case.jsonl" "$cols" "$rows" >>"$manifest"
done
echo "]" >>"$manifest"

node "$here/synced_golden.mjs" "$manifest" >"$work/results" 2>"$work/node.err" ||
	{ echo "FAIL $name (oracle: $(head -3 "$work/node.err"))"; fail=1; }
pass_n=0 fail_n=0 skip_n=0
while read -r status case rest; do
	case=${case%:}
	if [ "$status" = PASS ]; then
		echo "PASS $name $case $rest"
		pass_n=$((pass_n + 1))
	elif [ -n "${KNOWN_SCAN[$case]:-}" ]; then
		echo "SKIP $name $case ($rest; known: ${KNOWN_SCAN[$case]})"
		skip_n=$((skip_n + 1))
	else
		echo "FAIL $name $case ($rest)"
		fail_n=$((fail_n + 1))
		fail=1
	fi
done <"$work/results"
for c in "${!loaded[@]}"; do
	[ "${loaded[$c]}" = no ] && { [ -n "${KNOWN_SCAN[$c]:-}" ] && skip_n=$((skip_n + 1)) || fail_n=$((fail_n + 1)); }
done
echo "# $name: $pass_n equal, $fail_n different, $skip_n known scan limitations"
exit $fail
