#!/usr/bin/env bash
# delta_cli.sh — exact-output tests of `lakesync delta scan|history|changes`
# on small golden tables ($LAKESYNC_TESTDATA/delta-golden): the history
# table and JSON lines, scan as JSON lines / CSV with --columns, --limit,
# --version, changes as CSV / JSON lines, --output files (checked with
# DuckDB when it is installed), every --help, and the error format
# "lakesync: <msg>\n  where: ..." with the exit codes of cli.h.
# Prints PASS/FAIL/SKIP lines (tests/run-all.sh); exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${LAKESYNC_BIN:-$root/build/lakesync}
DATA=${LAKESYNC_TESTDATA:-$root/../shared/testdata}
G=$DATA/delta-golden
if [ ! -d "$G" ]; then
	echo "SKIP delta_cli: no $G"; exit 0
fi
if [ ! -x "$BIN" ]; then
	echo "FAIL delta_cli: $BIN does not exist (make first)"; exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-delta-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# one consistent binary for the whole run (the shared tree may relink it)
cp "$BIN" "$tmp/lakesync" && BIN=$tmp/lakesync
failures=0
have_duckdb=false
if command -v node >/dev/null && [ -d "$here/node_modules/@duckdb/node-api" ]; then
	have_duckdb=true
fi

# expect NAME WANT_RC WANT_STDOUT -- CMD...: exit code and stdout byte for
# byte (a trailing newline of WANT is compared too: it is added to it).
expect() {
	local name=$1 want_rc=$2 want=$3; shift 4
	local got rc
	got=$("$@" 2>"$tmp/stderr"; echo "rc=$?")
	rc=${got##*rc=}; got=${got%rc=*}
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc; stderr: $(head -3 "$tmp/stderr")"
		failures=$((failures + 1))
	elif [ "$got" != "$want" ]; then
		echo "FAIL $name: output differs"
		diff <(printf '%s' "$want") <(printf '%s' "$got") | head -20
		failures=$((failures + 1))
	else
		echo "PASS $name"
	fi
}

# expect_error NAME WANT_RC STDERR_REGEX [WHERE_REGEX] -- CMD...: exit code,
# the first stderr line, the "  where:" line when given; no stdout.
expect_error() {
	local name=$1 want_rc=$2 re=$3 where=$4; shift 5
	local out rc
	out=$("$@" 2>"$tmp/stderr")
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc; stderr: $(head -3 "$tmp/stderr")"
		failures=$((failures + 1))
	elif ! head -1 "$tmp/stderr" | grep -Eq -- "$re"; then
		echo "FAIL $name: first stderr line does not match /$re/: $(head -3 "$tmp/stderr")"
		failures=$((failures + 1))
	elif [ -n "$where" ] && ! sed -n 2p "$tmp/stderr" | grep -Eq -- "^  where: .*$where"; then
		echo "FAIL $name: no \"  where:\" line matching /$where/: $(head -3 "$tmp/stderr")"
		failures=$((failures + 1))
	elif [ -n "$out" ]; then
		echo "FAIL $name: unexpected stdout: $(printf '%s' "$out" | head -3)"
		failures=$((failures + 1))
	else
		echo "PASS $name"
	fi
}

# CSV records end in CRLF; the final newline survives $(...) as "\r", so
# callers append $'\n' to the expected text
crlf() { printf '%s\r\n' "$@"; }

# ---- history ------------------------------------------------------------------
gc=$G/deltalog-getChanges/delta
dv=$G/dv-with-columnmapping/delta
tt=$G/time-travel-start-start20/delta

expect history/text 0 "version  timestamp                 operation      files  rows  engine                                        parameters
2        2024-01-04T18:27:26.603Z  Manual Update  +0 -0  -     Apache-Spark/3.5.0 Delta-Lake/3.1.0-SNAPSHOT  {}
1        2024-01-04T18:27:26.030Z  Manual Update  +0 -1  -     Apache-Spark/3.5.0 Delta-Lake/3.1.0-SNAPSHOT  {}
0        2024-01-04T18:27:22.074Z  Manual Update  +1 -0  -     Apache-Spark/3.5.0 Delta-Lake/3.1.0-SNAPSHOT  {}
" -- "$BIN" delta history "$gc"

expect history/metrics 0 "version  timestamp                 operation  files  rows                 engine                                        parameters
15       2023-10-13T06:17:52.306Z  DELETE     +1 -1  1 deleted, 0 copied  Apache-Spark/3.5.0 Delta-Lake/3.0.0-SNAPSHOT  {\"predicate\":\"[\\\"(col1#19833 = 28)\\\"]\"}
14       2023-10-13T06:17:50.510Z  DELETE     +1 -1  1 deleted, 0 copied  Apache-Spark/3.5.0 Delta-Lake/3.0.0-SNAPSHOT  {\"predicate\":\"[\\\"(col1#18297 = 26)\\\"]\"}
" -- "$BIN" delta history "$dv" --limit 2

expect history/no-metrics-no-engine 0 "version  timestamp                 operation  files  rows  engine  parameters
1        2020-10-26T14:53:41.190Z  WRITE      +2 -0  -     -       {\"mode\":\"Append\",\"partitionBy\":\"[]\"}
0        2020-10-26T14:53:39.870Z  WRITE      +2 -0  -     -       {\"mode\":\"Append\",\"partitionBy\":\"[]\"}
" -- "$BIN" delta history "$tt"

expect history/jsonl 0 '{"version":2,"timestamp":"2024-01-04T18:27:26.603Z","operation":"Manual Update","operationParameters":{},"engineInfo":"Apache-Spark/3.5.0 Delta-Lake/3.1.0-SNAPSHOT","filesAdded":0,"filesRemoved":0,"operationMetrics":{}}
' -- "$BIN" delta history "$gc" --limit 1 --format jsonl

expect history/jsonl-metrics 0 '{"version":0,"timestamp":"2023-10-13T06:17:18.187Z","operation":"WRITE","operationParameters":{"mode":"ErrorIfExists","partitionBy":"[\"part\"]"},"engineInfo":"Apache-Spark/3.5.0 Delta-Lake/3.0.0-SNAPSHOT","filesAdded":20,"filesRemoved":0,"operationMetrics":{"numFiles":"20","numOutputRows":"50","numOutputBytes":"24078"}}
' -- bash -c "\"$BIN\" delta history \"$dv\" --format jsonl | tail -1"

expect history/limit-0 0 "version  timestamp  operation  files  rows  engine  parameters
" -- "$BIN" delta history "$gc" --limit 0

# ---- scan ---------------------------------------------------------------------
expect scan/jsonl-decimals 0 '{"part":"-2342342.23423","col1":"-999.99","col2":"-99999.99999","col3":"-9999999999.9999999999"}
{"part":"0.00004","col1":"0.00","col2":"0.00000","col3":"0.0000000000"}
{"part":"234.00000","col1":"1.00","col2":"2.00000","col3":"3.0000000000"}
{"part":"2342222.23454","col1":"111.11","col2":"22222.22222","col3":"3333333333.3333333333"}
' -- "$BIN" delta scan "$G/basic-decimal-table/delta"

expect scan/csv-limit 0 "$(crlf 'as_int,as_long,as_byte,as_short,as_boolean,as_float,as_double,as_string,as_binary,as_big_decimal' \
	',,,,,,,,,' '0,0,0,0,true,0,0,0,AAA=,0' '1,1,1,1,false,1,1,1,AQE=,1')"$'\n' \
	-- "$BIN" delta scan "$G/data-reader-primitives/delta" --format csv --limit 3

expect scan/columns-reordered 0 '{"as_string":null,"as_int":null}
{"as_string":"0","as_int":0}
' -- "$BIN" delta scan "$G/data-reader-primitives/delta" --columns as_string,AS_INT --limit 2

expect scan/partition-column-mapping 0 '{"col2":"foo0","part":0}
{"col2":"foo0","part":0}
{"col2":"foo1","part":1}
' -- "$BIN" delta scan "$dv" --columns col2,part --limit 3

expect scan/version-0 0 '{"id":0}
{"id":1}
{"id":2}
' -- "$BIN" delta scan "$tt" --version 0 --limit 3

n=$("$BIN" delta scan "$tt" --version 0 | wc -l)
m=$("$BIN" delta scan "$tt" | wc -l)
if [ "$n" = 10 ] && [ "$m" = 20 ]; then echo "PASS scan/version-counts"
else echo "FAIL scan/version-counts: $n rows at version 0, $m latest (want 10, 20)"; failures=$((failures + 1)); fi

expect scan/limit-0 0 "" -- "$BIN" delta scan "$tt" --limit 0
expect scan/csv-empty-table 0 "$(crlf 'id')"$'\n' -- "$BIN" delta scan "$G/canonicalized-paths-normal-a/delta" --format csv

# --output: a Parquet file, no .tmp left behind
out=$tmp/dv.parquet
expect scan/output-quiet 0 "" -- "$BIN" delta scan "$dv" --output "$out" --limit 7
if [ -f "$out" ] && [ ! -e "$out.tmp" ]; then
	if $have_duckdb; then
		got=$(node "$here/oracle.mjs" sql "SELECT count(*), string_agg(part || ':' || col1 || ':' || col2, ',' ORDER BY part, col1) FROM read_parquet('$out')")
		if [ "$got" = '[["7","0:30:foo0,0:40:foo0,1:1:foo1,1:11:foo1,1:21:foo1,1:31:foo1,1:41:foo1"]]' ]; then
			echo "PASS scan/output-duckdb"
		else echo "FAIL scan/output-duckdb: $got"; failures=$((failures + 1)); fi
	else echo "SKIP scan/output-duckdb: DuckDB is not installed"; fi
	expect scan/output-readback 0 '{"part":0,"col1":30,"col2":"foo0"}
{"part":0,"col1":40,"col2":"foo0"}
' -- "$BIN" parquet cat "$out" --limit 2
else
	echo "FAIL scan/output-file: $out missing or $out.tmp left"; failures=$((failures + 1))
fi
expect_error scan/output-failed 1 '^lakesync: could not open ".*/checkpoint/delta/15"' 'data file "15"' \
	-- "$BIN" delta scan "$G/checkpoint/delta" --output "$tmp/cp.parquet"
if [ -e "$tmp/cp.parquet" ] || [ -e "$tmp/cp.parquet.tmp" ]; then
	echo "FAIL scan/output-failed-clean: a failed scan left a file"; failures=$((failures + 1))
else echo "PASS scan/output-failed-clean"; fi

# ---- changes ------------------------------------------------------------------
expect changes/csv 0 "$(crlf 'part,col1,col2,_change_type,_commit_version,_commit_timestamp' \
	'0,0,foo0,delete,1,2023-10-13T06:17:25.210000Z' \
	'2,2,foo2,delete,2,2023-10-13T06:17:27.623000Z' \
	'4,4,foo4,delete,3,2023-10-13T06:17:29.801000Z')"$'\n' \
	-- "$BIN" delta changes "$dv" --from 1 --to 3 --format csv

expect changes/jsonl-dv-update-and-remove 0 '{"part":0,"col1":10,"col2":"foo0","_change_type":"delete","_commit_version":6,"_commit_timestamp":"2023-10-13T06:17:35.845000Z"}
{"part":6,"col1":16,"col2":"foo1","_change_type":"delete","_commit_version":9,"_commit_timestamp":"2023-10-13T06:17:40.988000Z"}
' -- bash -c "\"$BIN\" delta changes \"$dv\" --from 6 --to 9 | sed -n '1p;4p'"

expect changes/inserts-limit 0 '{"id":10,"_change_type":"insert","_commit_version":1,"_commit_timestamp":"2020-10-26T14:53:41.190000Z"}
' -- "$BIN" delta changes "$tt" --from 1 --limit 1

expect changes/empty 0 "" -- "$BIN" delta changes "$gc" --from 2

out=$tmp/changes.parquet
expect changes/output-quiet 0 "" -- "$BIN" delta changes "$dv" --from 1 --output "$out"
if $have_duckdb && [ -f "$out" ]; then
	got=$(node "$here/oracle.mjs" sql "SELECT count(*), count(DISTINCT _commit_version), min(_change_type), max(_change_type), typeof(min(_commit_timestamp)), typeof(min(_commit_version)) FROM read_parquet('$out')")
	if [ "$got" = '[["15","15","delete","delete","TIMESTAMP WITH TIME ZONE","BIGINT"]]' ]; then
		echo "PASS changes/output-duckdb"
	else echo "FAIL changes/output-duckdb: $got"; failures=$((failures + 1)); fi
else
	echo "SKIP changes/output-duckdb: DuckDB is not installed or no output"
fi

# ---- errors and exit codes ----------------------------------------------------
expect_error err/no-command 2 '^usage: lakesync delta COMMAND' '' -- "$BIN" delta
expect_error err/unknown-command 2 '^lakesync delta: unknown command "frob"' '' -- "$BIN" delta frob
expect_error err/scan-missing-table 2 '^lakesync delta scan: missing TABLE' '' -- "$BIN" delta scan
expect_error err/scan-unknown-option 2 '^lakesync delta scan: unknown option "--bogus"' '' -- "$BIN" delta scan "$tt" --bogus
expect_error err/scan-bad-format 2 '^lakesync delta scan: unknown --format "xml"' '' -- "$BIN" delta scan "$tt" --format xml
expect_error err/scan-output-and-format 2 'exclude each other' '' -- "$BIN" delta scan "$tt" --format csv --output "$tmp/x.parquet"
expect_error err/scan-bad-limit 2 'invalid --limit "-1"' '' -- "$BIN" delta scan "$tt" --limit -1
expect_error err/scan-bad-version 2 'invalid --version "x"' '' -- "$BIN" delta scan "$tt" --version x
expect_error err/scan-missing-value 2 '--version needs a value' '' -- "$BIN" delta scan "$tt" --version
expect_error err/scan-bad-timestamp 2 'invalid --timestamp "yesterday"' '' -- "$BIN" delta scan "$tt" --timestamp yesterday
expect_error err/scan-two-tables 2 'unexpected argument' '' -- "$BIN" delta scan "$tt" "$tt"
expect_error err/scan-empty-column 2 'empty column name in --columns "id,"' '' -- "$BIN" delta scan "$tt" --columns id,
expect_error err/scan-repeated-column 2 'column "id" is named twice' '' -- "$BIN" delta scan "$tt" --columns id,id
expect_error err/scan-unknown-column 1 '^lakesync: column "nope" is not in the table \(its columns: id\)' 'version 1' \
	-- "$BIN" delta scan "$tt" --columns nope
expect_error err/not-a-table 1 '^lakesync: not a Delta table: no _delta_log directory' 'table ".*/no-delta-log-folder/delta"' \
	-- "$BIN" delta scan "$G/no-delta-log-folder/delta"
expect_error err/no-such-dir 1 '^lakesync: not a Delta table' '' -- "$BIN" delta history "$tmp/nowhere"
expect_error err/unsupported-protocol 4 '^lakesync: unsupported Delta protocol: minReaderVersion 99' 'protocol action' \
	-- "$BIN" delta scan "$G/deltalog-invalid-protocol-version/delta"
expect_error err/corrupt-log 3 '^lakesync: the Delta log has no protocol action at version 0' '_delta_log' \
	-- "$BIN" delta scan "$G/deltalog-state-reconstruction-without-protocol/delta"
expect_error err/version-missing 1 '^lakesync: version 5 does not exist \(the latest version is 1\)' 'table "' \
	-- "$BIN" delta scan "$tt" --version 5
expect_error err/history-bad-format 2 'unknown --format "csv" \(text or jsonl\)' '' -- "$BIN" delta history "$tt" --format csv
expect_error err/changes-no-from 2 '^lakesync delta changes: missing --from V' '' -- "$BIN" delta changes "$tt"
expect_error err/changes-from-after-to 2 '--from 1 is after --to 0' '' -- "$BIN" delta changes "$tt" --from 1 --to 0
expect_error err/changes-to-missing 1 '^lakesync: version 9 does not exist \(the latest version is 1\)' '' \
	-- "$BIN" delta changes "$tt" --from 0 --to 9
expect_error err/changes-missing-file 1 '^lakesync: could not open ".*fake/path/1"' 'version 0' \
	-- "$BIN" delta changes "$gc" --from 0

# ---- help ---------------------------------------------------------------------
for c in scan history changes; do
	out=$("$BIN" delta $c --help 2>&1); rc=$?
	if [ $rc = 0 ] && [[ "$out" == "usage: lakesync delta $c TABLE"* ]]; then
		echo "PASS help/$c"
	else echo "FAIL help/$c: exit $rc: ${out%%$'\n'*}"; failures=$((failures + 1)); fi
done
out=$("$BIN" delta --help); rc=$?
if [ $rc = 0 ] && [[ "$out" == "usage: lakesync delta COMMAND TABLE ..."* ]] && [[ "$out" == *"changes TABLE --from V"* ]]; then
	echo "PASS help/delta"
else echo "FAIL help/delta: exit $rc"; failures=$((failures + 1)); fi
# checkpoint|optimize|vacuum are routed to the maintenance commands
for c in checkpoint optimize vacuum; do
	out=$("$BIN" delta $c --help 2>&1); rc=$?
	if [ $rc = 0 ] && [[ "$out" == *"lakesync delta $c"* ]]; then echo "PASS help/$c-routed"
	else echo "FAIL help/$c-routed: exit $rc: ${out%%$'\n'*}"; failures=$((failures + 1)); fi
done
out=$("$BIN" --help); rc=$?
if [ $rc = 0 ] && [[ "$out" == *"  delta     scan|history|changes"* ]]; then echo "PASS help/main-lists-delta"
else echo "FAIL help/main-lists-delta"; failures=$((failures + 1)); fi

[ $failures = 0 ]
