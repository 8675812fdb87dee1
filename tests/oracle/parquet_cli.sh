#!/usr/bin/env bash
# parquet_cli.sh — exact-output tests of `lakesync parquet schema|cat|copy`
# on small files DuckDB writes at test time: the schema tree, JSON lines and
# CSV text (format.h's forms), --limit, --columns, --help, the error format
# "lakesync: <msg>\n  where: ..." and the exit codes of cli.h.
# Prints PASS/FAIL/SKIP lines (tests/run-all.sh); exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${LAKESYNC_BIN:-$root/build/lakesync}
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
	echo "SKIP parquet_cli: node or DuckDB (tests/oracle/node_modules) is not installed"; exit 0
fi
if [ ! -x "$BIN" ]; then
	echo "FAIL parquet_cli: $BIN does not exist (make first)"; exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

oracle() { node "$here/oracle.mjs" "$@"; }

# expect NAME WANT_RC WANT_STDOUT -- CMD...: runs CMD, compares exit code and
# stdout byte for byte (stderr goes to $tmp/stderr).
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

# expect_error NAME WANT_RC STDERR_REGEX -- CMD...: exit code and the
# "lakesync: <msg>" first line; nothing on stdout.
expect_error() {
	local name=$1 want_rc=$2 re=$3; shift 4
	local out rc
	out=$("$@" 2>"$tmp/stderr")
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc; stderr: $(head -3 "$tmp/stderr")"
		failures=$((failures + 1))
	elif ! grep -Eq -- "$re" "$tmp/stderr"; then
		echo "FAIL $name: stderr does not match /$re/: $(head -3 "$tmp/stderr")"
		failures=$((failures + 1))
	elif [ -n "$out" ]; then
		echo "FAIL $name: unexpected stdout: $(printf '%s' "$out" | head -3)"
		failures=$((failures + 1))
	else
		echo "PASS $name"
	fi
}

# ---- files ------------------------------------------------------------------
simple=$tmp/simple.parquet
nested=$tmp/nested.parquet
if ! oracle sql "COPY (SELECT * FROM (VALUES
  (1::INTEGER, 'alpha', 1.5::DOUBLE, 12.30::DECIMAL(5,2), DATE '2021-01-02', TIMESTAMP '2021-01-01 00:00:00.123456', true),
  (2, NULL, 'nan'::DOUBLE, -0.05::DECIMAL(5,2), NULL, NULL, false),
  (3, 'he said \"hi\", ok', -0.0::DOUBLE, NULL, DATE '0044-03-15 (BC)', TIMESTAMP '1969-12-31 23:59:59.999999', NULL)
) t(id, s, f, dec, d, ts, b)) TO '$simple' (FORMAT parquet, FIELD_IDS {id: 1, s: 2, f: 3, dec: 4, d: 5, ts: 6, b: 7}, KV_METADATA {owner: 'lakesync'})" \
	"COPY (SELECT * FROM (VALUES
  (1, [1, NULL, 3], {'a': 1, 'b': 'x'}, MAP {'k1': 10, 'k2': NULL}, '\\x00\\x01\\xFF'::BLOB, TIMESTAMPTZ '2021-06-01 12:00:00.5+00', 'c0ffee00-0000-4000-8000-000000000001'::UUID),
  (2, []::INTEGER[], NULL, MAP {}::MAP(VARCHAR, INTEGER), ''::BLOB, NULL, NULL),
  (3, NULL, {'a': NULL, 'b': NULL}, NULL, NULL, TIMESTAMPTZ '1900-01-01 00:00:00+00', NULL)
) t(id, l, st, m, bin, tz, u)) TO '$nested' (FORMAT parquet)" >/dev/null; then
	echo "FAIL parquet_cli: DuckDB could not write the test files"; exit 1
fi
created_by=$(oracle sql "SELECT created_by FROM parquet_file_metadata('$simple')" |
	node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[0][0])')

# ---- schema -----------------------------------------------------------------
expect schema/simple 0 "file: $simple
rows: 3
row groups: 1
created by: $created_by
key/value metadata: 1
  owner = lakesync
schema: 7 columns
  id: integer nullable, field_id 1
  s: string nullable, field_id 2
  f: double nullable, field_id 3
  dec: decimal(5,2) nullable, field_id 4
  d: date nullable, field_id 5
  ts: timestamp_ntz nullable, unit micros, field_id 6
  b: boolean nullable, field_id 7
" -- "$BIN" parquet schema "$simple"

expect schema/nested 0 "file: $nested
rows: 3
row groups: 1
created by: $created_by
key/value metadata: 0
schema: 7 columns
  id: integer nullable
  l: array nullable
    element: integer nullable
  st: struct nullable
    a: integer nullable
    b: string nullable
  m: map nullable
    key: string required
    value: integer nullable
  bin: binary nullable
  tz: timestamp nullable, unit micros
  u: binary nullable, uuid, fixed_len 16
" -- "$BIN" parquet schema "$nested"

# ---- cat --------------------------------------------------------------------
simple_jsonl='{"id":1,"s":"alpha","f":1.5,"dec":"12.30","d":"2021-01-02","ts":"2021-01-01T00:00:00.123456","b":true}
{"id":2,"s":null,"f":"NaN","dec":"-0.05","d":null,"ts":null,"b":false}
{"id":3,"s":"he said \"hi\", ok","f":-0,"dec":null,"d":"-0043-03-15","ts":"1969-12-31T23:59:59.999999","b":null}
'
expect cat/jsonl 0 "$simple_jsonl" -- "$BIN" parquet cat "$simple"
expect cat/jsonl-explicit 0 "$simple_jsonl" -- "$BIN" parquet cat --format jsonl "$simple"

crlf=$'\r'
expect cat/csv 0 "id,s,f,dec,d,ts,b$crlf
1,alpha,1.5,12.30,2021-01-02,2021-01-01T00:00:00.123456,true$crlf
2,,NaN,-0.05,,,false$crlf
3,\"he said \"\"hi\"\", ok\",-0,,-0043-03-15,1969-12-31T23:59:59.999999,$crlf
" -- "$BIN" parquet cat "$simple" --format csv

expect cat/nested-jsonl 0 '{"id":1,"l":[1,null,3],"st":{"a":1,"b":"x"},"m":[{"key":"k1","value":10},{"key":"k2","value":null}],"bin":"AAH/","tz":"2021-06-01T12:00:00.500000Z","u":"c0ffee00-0000-4000-8000-000000000001"}
{"id":2,"l":[],"st":null,"m":[],"bin":"","tz":null,"u":null}
{"id":3,"l":null,"st":{"a":null,"b":null},"m":null,"bin":null,"tz":"1900-01-01T00:00:00.000000Z","u":null}
' -- "$BIN" parquet cat "$nested"

expect cat/nested-csv 0 "id,l,st,m,bin,tz,u$crlf
1,\"[1,null,3]\",\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\",\"[{\"\"key\"\":\"\"k1\"\",\"\"value\"\":10},{\"\"key\"\":\"\"k2\"\",\"\"value\"\":null}]\",AAH/,2021-06-01T12:00:00.500000Z,c0ffee00-0000-4000-8000-000000000001$crlf
2,[],,[],\"\",,$crlf
3,,\"{\"\"a\"\":null,\"\"b\"\":null}\",,,1900-01-01T00:00:00.000000Z,$crlf
" -- "$BIN" parquet cat "$nested" --format=csv

expect cat/columns 0 '{"ts":"2021-01-01T00:00:00.123456","id":1}
{"ts":null,"id":2}
{"ts":"1969-12-31T23:59:59.999999","id":3}
' -- "$BIN" parquet cat "$simple" --columns ts,id

expect cat/limit 0 '{"id":1,"s":"alpha","f":1.5,"dec":"12.30","d":"2021-01-02","ts":"2021-01-01T00:00:00.123456","b":true}
' -- "$BIN" parquet cat "$simple" --limit 1
expect cat/limit-0-csv 0 "id,s,f,dec,d,ts,b$crlf
" -- "$BIN" parquet cat "$simple" --limit=0 --format csv

# ---- copy -------------------------------------------------------------------
# three row groups of one row; field ids and key/value metadata kept
copy=$tmp/copy.parquet
expect copy/row-group-rows 0 "" -- "$BIN" parquet copy "$simple" "$copy" --row-group-rows 1 --compression snappy
expect copy/schema 0 "file: $copy
rows: 3
row groups: 3
created by: lakesync version $("$BIN" --version | cut -d' ' -f2)
key/value metadata: 1
  owner = lakesync
schema: 7 columns
  id: integer nullable, field_id 1
  s: string nullable, field_id 2
  f: double nullable, field_id 3
  dec: decimal(5,2) nullable, field_id 4
  d: date nullable, field_id 5
  ts: timestamp_ntz nullable, unit micros, field_id 6
  b: boolean nullable, field_id 7
" -- "$BIN" parquet schema "$copy"
expect copy/cat-limit-across-row-groups 0 "$(printf '%s' "$simple_jsonl" | head -2)
" -- "$BIN" parquet cat "$copy" --limit 2
expect copy/cat-all-row-groups 0 "$simple_jsonl" -- "$BIN" parquet cat "$copy"
expect copy/duckdb-field-ids-and-metadata 0 '[["id","1"],["s","2"],["f","3"],["dec","4"],["d","5"],["ts","6"],["b","7"]]
[["owner","lakesync"]]
' -- bash -c "node '$here/oracle.mjs' sql \"SELECT name, field_id FROM parquet_schema('$copy') WHERE field_id IS NOT NULL\" &&
	node '$here/oracle.mjs' sql \"SELECT decode(key), decode(value) FROM parquet_kv_metadata('$copy')\""
expect copy/duckdb-same-rows 0 'true
' -- bash -c "node '$here/oracle.mjs' compare '$simple' '$copy' | node -e 'process.stdout.write(JSON.parse(require(\"fs\").readFileSync(0,\"utf8\")).equal+\"\\n\")'"
nested_copy=$tmp/nested-copy.parquet
expect copy/nested-v2-nodict 0 "" -- "$BIN" parquet copy "$nested" "$nested_copy" --page-version 2 --no-dictionary --compression gzip
expect copy/nested-duckdb-same-rows 0 'true
' -- bash -c "node '$here/oracle.mjs' compare '$nested' '$nested_copy' | node -e 'process.stdout.write(JSON.parse(require(\"fs\").readFileSync(0,\"utf8\")).equal+\"\\n\")'"

# ---- help -------------------------------------------------------------------
for c in schema cat copy; do
	"$BIN" parquet $c --help >"$tmp/help" 2>&1
	rc=$?
	if [ $rc = 0 ] && head -1 "$tmp/help" | grep -q "^usage: lakesync parquet $c "; then
		echo "PASS help/$c"
	else
		echo "FAIL help/$c: exit $rc: $(head -1 "$tmp/help")"; failures=$((failures + 1))
	fi
done
"$BIN" parquet --help >"$tmp/help" 2>&1 && grep -q "^usage: lakesync parquet COMMAND" "$tmp/help" &&
	echo "PASS help/parquet" || { echo "FAIL help/parquet"; failures=$((failures + 1)); }

# ---- errors and exit codes ---------------------------------------------------
printf 'hello\n' >"$tmp/text.parquet"
head -c 300 "$simple" >"$tmp/trunc.parquet"
expect_error error/missing-file 1 '^lakesync: could not open .*nonexist\.parquet' -- "$BIN" parquet cat "$tmp/nonexist.parquet"
expect_error error/not-parquet 3 '^lakesync: .*parquet' -- "$BIN" parquet cat "$tmp/text.parquet"
expect_error error/where-names-file 3 "^  where: .*text\.parquet" -- "$BIN" parquet schema "$tmp/text.parquet"
expect_error error/truncated 3 '^  where: .*trunc\.parquet' -- "$BIN" parquet copy "$tmp/trunc.parquet" "$tmp/out.parquet"
if [ -e "$tmp/out.parquet" ] || [ -e "$tmp/out.parquet.tmp" ]; then
	echo "FAIL error/truncated-leaves-nothing: $(ls "$tmp")"; failures=$((failures + 1))
else
	echo "PASS error/truncated-leaves-nothing"
fi
expect_error error/unknown-column 1 '^lakesync: column "nosuch"' -- "$BIN" parquet cat "$simple" --columns id,nosuch
expect_error error/out-dir-missing 1 '^lakesync: could not create' -- "$BIN" parquet copy "$simple" "$tmp/no/such/dir/x.parquet"
expect_error usage/no-command 2 '^usage: lakesync parquet' -- "$BIN" parquet
expect_error usage/unknown-command 2 'unknown command "frob"' -- "$BIN" parquet frob
expect_error usage/cat-no-file 2 'missing FILE' -- "$BIN" parquet cat
expect_error usage/cat-bad-format 2 'unknown --format "xml"' -- "$BIN" parquet cat "$simple" --format xml
expect_error usage/cat-bad-limit 2 'invalid --limit "-1"' -- "$BIN" parquet cat "$simple" --limit=-1
expect_error usage/cat-limit-no-value 2 '--limit needs a value' -- "$BIN" parquet cat "$simple" --limit
expect_error usage/cat-unknown-option 2 'unknown option "--frob"' -- "$BIN" parquet cat "$simple" --frob
expect_error usage/copy-bad-codec 2 'unknown compression "lzo"' -- "$BIN" parquet copy "$simple" "$tmp/x.parquet" --compression lzo
expect_error usage/copy-bad-page-version 2 'invalid --page-version "3"' -- "$BIN" parquet copy "$simple" "$tmp/x.parquet" --page-version 3
expect_error usage/copy-bad-row-group-rows 2 'invalid --row-group-rows "0"' -- "$BIN" parquet copy "$simple" "$tmp/x.parquet" --row-group-rows 0
expect_error usage/copy-missing-out 2 'missing IN or OUT' -- "$BIN" parquet copy "$simple"
expect_error usage/schema-extra-arg 2 'unexpected argument' -- "$BIN" parquet schema "$simple" "$simple"

[ $failures = 0 ]
