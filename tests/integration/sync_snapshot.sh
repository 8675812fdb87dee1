#!/usr/bin/env bash
# sync_snapshot.sh — the initial snapshot of `lakesync sync` in its two COPY
# formats against a throwaway PostgreSQL 15 (lib.sh), checked with DuckDB
# (tests/oracle/sync_check.mjs).
#
#   binary     the default: a table with a column of every type of DESIGN
#              §5 (native binary readers for bool, ints, floats, numerics,
#              text-like, bytea, uuid, dates and timestamps; the others —
#              arrays, enum, inet, interval, "char", … — selected as their
#              text output), 6,002 rows with extremes (NaN of both signs,
#              ±Infinity, -0, ±infinity dates and timestamps, numeric
#              limits, empty and NULL everything), --jobs 2 over ~32 ctid
#              ranges: the log says "binary copy", the history equals the
#              table (DuckDB)
#   text       the same with LAKESYNC_SNAPSHOT_FORMAT=text: equals the table
#   same       the two Delta tables hold the same rows, bit for bit in every
#              column but _commit_lsn and _commit_timestamp (different
#              slots): `lakesync delta scan` JSON lines compared
#   errors     a date past 9999 and a timestamptz before year 1 (one
#              table each): both formats stop the table with the same
#              message naming table, column and value, and the same exit
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_snapshot
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! command -v node >/dev/null || [ ! -d "$root/tests/oracle/node_modules/@duckdb" ]; then
	echo "SKIP $name (no node/DuckDB oracle)"
	exit 0
fi
if ! command -v jq >/dev/null; then
	echo "SKIP $name (no jq)"
	exit 0
fi
if ! pg_start; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-snap.XXXXXX")
chmod 755 "$work"
trap 'pg_stop; rm -rf "$work"' EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0

pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
expect() { # label actual expected
	if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi
}
compare() { # label lake table key
	(cd "$root/tests/oracle" && node sync_check.mjs compare "$name $1" "$2/public/${3}_history" \
		"public.$3" "$4" replay) || fail=1
}

lk_psql <<'SQL' || { echo "FAIL $name setup"; exit 1; }
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(12,2);
CREATE TABLE snapt (
	id int PRIMARY KEY,
	c_bool bool, c_i2 int2, c_i4 int4, c_i8 int8, c_f4 float4, c_f8 float8,
	c_num numeric(12,3), c_num38 numeric(38,10), c_num38i numeric(38,0), c_numbig numeric(50,5),
	c_numfree numeric, c_text text, c_vc varchar(20), c_bpchar char(5), c_name name, c_char "char",
	c_citext citext, c_bytea bytea, c_uuid uuid, c_date date, c_ts timestamp, c_tstz timestamptz,
	c_time time, c_timetz timetz, c_interval interval, c_json json, c_jsonb jsonb,
	c_enum mood, c_inet inet, c_cidr cidr, c_mac macaddr, c_xml xml, c_money money,
	c_bit bit(4), c_varbit varbit, c_tsv tsvector, c_range int4range, c_point point, c_box box,
	c_i4arr int4[], c_textarr text[], c_numarr numeric(10,2)[], c_f8arr float8[],
	c_boolarr bool[], c_datearr date[], c_tstzarr timestamptz[], c_uuidarr uuid[],
	c_md int[][], c_dom posint, c_price price, c_big text
);
INSERT INTO snapt
SELECT g, g % 3 = 0, (g * 7 % 30000 - 15000)::int2, (g::int8 * 1000003 % 2000000000 - 1000000000)::int4,
	g::int8 * 1234567890123, g / 7.0::float4, g / 3.0::float8,
	(g * 1.001)::numeric(12,3), (g * 12345.6789012345)::numeric(38,10), g::numeric * 1e30,
	(g::numeric * 1e40 + 0.5)::numeric(50,5), (g::numeric / 7), E'text\t' || g || E'\n\\',
	'vc' || g, 'b' || (g % 100), 'name' || g, chr(65 + g % 26), 'Cit' || g,
	decode(md5(g::text), 'hex'), md5(g::text)::uuid, DATE '2000-01-01' + g * 37 - 100000,
	TIMESTAMP '2001-02-03 04:05:06.123456' + g * INTERVAL '1 day 1.000001 second',
	TIMESTAMPTZ '1969-12-31 23:59:59.5+00' + g * INTERVAL '3 hours 0.25 second',
	TIME '00:00:00' + g * INTERVAL '17 minutes 0.000007 second', '10:11:12.5+02',
	g * INTERVAL '1 day 2 hours', json_build_object('g', g, 's', 'x' || g),
	jsonb_build_object('g', g, 'arr', jsonb_build_array(g, NULL, 'y')),
	(ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ('10.0.' || (g % 250) || '.1')::inet,
	('10.' || (g % 250) || '.0.0/16')::cidr, ('08:00:2b:01:02:' || lpad(to_hex(g % 256), 2, '0'))::macaddr,
	('<r g="' || g || '">v</r>')::xml, (g * 1.25)::money, (g % 16)::bit(4), (g % 5)::bit(3)::varbit,
	to_tsvector('simple', 'word' || g || ' other'), int4range(g, g + 10),
	point(g, g / 2.0), box(point(0, 0), point(g, g)),
	ARRAY[g, NULL, -g], ARRAY['a' || g, NULL, '', 'q"t,x'], ARRAY[g / 4.0, 0]::numeric(10,2)[],
	ARRAY[g / 3.0, -0.0]::float8[], ARRAY[true, NULL], ARRAY[DATE '2020-01-01' + g],
	ARRAY[TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 second'], ARRAY[md5(g::text)::uuid],
	ARRAY[[g, 1], [2, 3]], 1 + g, g / 8.0, CASE WHEN g % 500 = 0 THEN repeat(md5(g::text), 200) ELSE 'short ' || g END
FROM generate_series(4, 6000) g;
-- all NULL but the key
INSERT INTO snapt (id) VALUES (1);
-- extremes
INSERT INTO snapt VALUES (2, true, 32767, -2147483648, 9223372036854775807, 'NaN', 'Infinity',
	999999999.999, '9999999999999999999999999999.9999999999', '99999999999999999999999999999999999999',
	'12345678901234567890123456789012345678901234.12345', 'NaN',
	E'uni \u00e9\u4e2d\U0001F600 tab\t nl\n quote'' dq" bs\\ comma,', '', 'ab', 'nm', 'z', 'MiXeD',
	'\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'infinity', '-infinity', 'infinity',
	'23:59:59.999999', '12:00:00+05:30', '1 year 2 mons 3 days 04:05:06.789',
	'{"a": [1, 2], "u": "\u00e9"}', '{"b": {"c": null}}', 'happy', '::1', '2001:db8::/32',
	'ff:ff:ff:ff:ff:ff', '<a>&amp;</a>', -92233720368547758.08, B'1010', B'1', 'a fat cat',
	'empty', '(1.5,-2)', '((0,0),(-1,-1))', '{}', '{"x,y","q\"t",NULL}', '{-99999999.99}',
	'{1e308,-1e-300,5e-324}', '{}', '{0001-01-01,9999-12-31}', '{"2000-01-01 00:00:00+00"}', '{}',
	'{{1,2},{3,4}}', 2147483647, -9999999999.99, '');
INSERT INTO snapt VALUES (3, false, -32768, 2147483647, -9223372036854775808, '-Infinity', '-0',
	-999999999.999, '-0.0000000001', '-99999999999999999999999999999999999999', '-0.00001',
	'-Infinity', '', 'x', '', '', ' ', '',
	'\x', '00000000-0000-0000-0000-000000000000', '-infinity', 'infinity', '-infinity',
	'00:00:00', '00:00:00-14', '-1 days -00:00:01', '[]', '[]', 'sad', '0.0.0.0', '0.0.0.0/0',
	'00:00:00:00:00:00', '', 0, B'0000', B'', '', '(,)', '(0,0)', '((0,0),(0,0))', '{NULL}',
	'{NULL,""}', '{0.01}', '{NaN,Infinity,-Infinity}', '{f}', '{NULL}', '{NULL}', '{NULL}',
	'{}', 1, 0, NULL);
-- NaN with the sign bit set (Infinity - Infinity), subnormals, the date/time limits
INSERT INTO snapt (id, c_f4, c_f8, c_date, c_ts, c_tstz, c_numfree, c_num38)
VALUES (4000000, 'Infinity'::float4 - 'Infinity'::float4, 'Infinity'::float8 - 'Infinity'::float8,
	'0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00', '0.000', '0'),
	(4000001, '1e-45', '5e-324', '9999-12-31', '9999-12-31 23:59:59.999999',
	'9999-12-31 23:59:59.999999+00', '1e-20', '-0.0000000001');
-- out of Delta's range, one table each
CREATE TABLE bad_date (id int PRIMARY KEY, d date);
INSERT INTO bad_date SELECT g, DATE '2020-01-01' + g FROM generate_series(1, 50) g;
INSERT INTO bad_date VALUES (51, '10000-01-01');
CREATE TABLE bad_ts (id int PRIMARY KEY, t timestamptz);
INSERT INTO bad_ts VALUES (1, '2020-01-01 00:00:00+00'), (2, '0044-03-15 12:00:00+00 BC');
SQL

snap() { # format pipeline lake table…
	local f=$1 p=$2 l=$3
	shift 3
	local args=()
	for t in "$@"; do args+=(--table "public.$t"); done
	LAKESYNC_SNAPSHOT_FORMAT=$f LAKESYNC_LOG=info "$bin" sync --source "$dsn" --target "$l" \
		"${args[@]}" --pipeline "$p" --until-caught-up --jobs 2
}

# ---- binary (the default) and text ------------------------------------------------
for f in binary text; do
	lake="$work/lake_$f"
	if snap "$f" "p$f" "$lake" snapt >"$work/$f.log" 2>&1; then
		pass "$f/exit"
	else
		failed "$f/exit"; sed 's/^/    /' "$work/$f.log"
	fi
	if grep -q "snapshot of public.snapt at lsn .* $f copy" "$work/$f.log"; then
		pass "$f/format"
	else
		failed "$f/format"; grep "snapshot of" "$work/$f.log" | sed 's/^/    /'
	fi
	compare "$f/types" "$lake" snapt id
	"$bin" delta scan "$lake/public/snapt_history" --format jsonl 2>"$work/$f.scan.err" |
		jq -cS 'del(._commit_lsn, ._commit_timestamp)' | sort >"$work/$f.rows"
done
# the binary log names the columns read as text (arrays, enum, inet, …)
if grep -q "binary copy (26 of 52 columns as text)" "$work/binary.log"; then
	pass "binary/columns"
else
	failed "binary/columns"; grep "snapshot of" "$work/binary.log" | sed 's/^/    /'
fi

# ---- the same rows --------------------------------------------------------------------
n=$(wc -l <"$work/binary.rows")
expect "same/rows" "$n" 6002
if [ "$n" -gt 0 ] && cmp -s "$work/binary.rows" "$work/text.rows"; then
	pass "same/values"
else
	failed "same/values"
	diff "$work/binary.rows" "$work/text.rows" | head -6 | cut -c1-400 | sed 's/^/    /'
fi
# snapshot rows: one _commit_lsn, distinct _change_seq over several ranges
facts=$("$bin" delta scan "$work/lake_binary/public/snapt_history" --format jsonl |
	jq -s -r '[(map(._commit_lsn) | unique | length), (map(._change_seq) | unique | length),
		(map(._change_seq / 1099511627776 | floor) | unique | length > 8)] | @tsv')
expect "binary/seq" "$facts" "$(printf '1\t6002\ttrue')"

# ---- errors ---------------------------------------------------------------------------
for t in bad_date bad_ts; do
	for f in binary text; do
		snap "$f" "e$f$t" "$work/err_$f" "$t" >"$work/err_${f}_$t.log" 2>&1
		echo "$?" >"$work/err_rc_$f"
		grep -o 'table public\.[a-z_]* stopped: .*' "$work/err_${f}_$t.log" |
			sed 's/copy row [0-9]*, //; s/snapshot at lsn [0-9A-F]*\/[0-9A-F]*/snapshot at lsn L/' \
			>"$work/err_msg_$f"
	done
	expect "errors/$t-exit" "$(cat "$work/err_rc_binary")" "$(cat "$work/err_rc_text")"
	msg=$(cat "$work/err_msg_binary")
	case $t in
	bad_date) want='cannot represent date outside 0001-01-01 to 9999-12-31: "10000-01-01"' ;;
	bad_ts) want='cannot represent timestamp outside 0001-01-01 to 9999-12-31 UTC: "0044-03-15 12:00:00+00 BC"' ;;
	esac
	if [[ "$msg" == *"$want"* ]] && [[ "$msg" == *"column \""* ]] &&
		[ "$msg" = "$(cat "$work/err_msg_text")" ]; then
		pass "errors/$t-message"
	else
		failed "errors/$t-message (binary: $msg; text: $(cat "$work/err_msg_text"))"
	fi
done
exit $fail
