#!/usr/bin/env bash
# sync_types.sh — `lakesync sync` (history mode) against a throwaway
# PostgreSQL 15 (lib.sh), checked with DuckDB (tests/oracle/sync_check.mjs).
#
#   types      a table with a column of every type of DESIGN §5 (extremes,
#              NaN/±Infinity, ±infinity dates and timestamps, unicode and
#              escapes, TOASTed text, 1-D arrays with NULL elements, a 2-D
#              array, domains, enum, citext, ranges, geometric…): snapshot,
#              then streamed inserts, updates (a key change, a TOASTed value
#              left unchanged), deletes, a transaction streamed in chunks
#              (logical_decoding_work_mem = 64kB) with a rolled-back
#              savepoint, an aborted streamed transaction; the history
#              replayed in LSN order equals the table (typed, every column)
#   history    exact facts of the history rows: preimages of the key change
#              carry the old key, deletes carry only the key, no duplicate
#              (_commit_lsn, _change_seq), snapshot rows share one LSN and
#              have a null _xid, rolled-back and aborted rows are absent
#   nokey      a table without primary key: inserts, TRUNCATE (one row with
#              null source columns), inserts
#   full       REPLICA IDENTITY FULL: a TOASTed value unchanged by an update
#              is filled from the old row
#   slow-flush wal_sender_timeout = 1.5 s and every Delta commit delayed by
#              3.5 s (LAKESYNC_TEST_FLUSH_DELAY_MS) while transactions arrive:
#              no reconnect, a clean SIGTERM stop, same data
#   errors     (own pipeline) a date past 9999 stops its table (exit 4,
#              message names table, column and LSN); nothing of the failed
#              transaction reaches Delta, the slot is not confirmed past it,
#              and a rerun fails the same way; in the same run an unchanged
#              TOAST value of a row last written by an earlier run is filled
#              from its latest image in the history table
#   added      a table added to the pipeline later is snapshotted through a
#              temporary slot (none left behind) and joins the publication
#   lost       the walsender is terminated: lakesync reconnects and resumes
#   cli        --help, usage errors (exit 2), --mode mirror of a table without
#              key (exit 4, nothing created), --drop
#   resync     after --drop, a new slot under existing history: a truncate
#              row then a snapshot; the replay still equals the table
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_types
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
check="$root/tests/oracle/sync_check.mjs"
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! command -v node >/dev/null || [ ! -d "$root/tests/oracle/node_modules/@duckdb" ]; then
	echo "SKIP $name (no node/DuckDB oracle)"
	exit 0
fi
if ! pg_start "logical_decoding_work_mem = 64kB" "wal_sender_timeout = 10s"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-sync.XXXXXX")
chmod 755 "$work"
trap 'pg_stop; rm -rf "$work"' EXIT
lake="$work/lake"
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0

pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
sql() { lk_psql -tA -c "$1"; }
expect() { # label actual expected
	if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi
}
extra=
sync_main() { "$bin" sync --source "$dsn" --target "$lake" --table public.types_t \
	--table public.nokey_t --table public.full_t $extra --until-caught-up --jobs 2 "$@"; }
sync_err() { "$bin" sync --source "$dsn" --target "$lake" --pipeline errs --table public.bad_t \
	--table public.toast_t --until-caught-up "$@"; }
compare() { # label table key [mode]
	(cd "$root/tests/oracle" && node sync_check.mjs compare "$name $1" "$lake/public/${2}_history" \
		"public.$2" "$3" "${4:-replay}") || fail=1
}
hq() { # views sql → JSON rows
	(cd "$root/tests/oracle" && node sync_check.mjs sql "$1" "$2")
}

# ---- schema and snapshot data ----------------------------------------------
lk_psql <<'SQL' || { echo "FAIL $name setup"; exit 1; }
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(12,2);
CREATE TABLE types_t (
	id int PRIMARY KEY,
	c_bool bool, c_i2 int2, c_i4 int4, c_i8 int8, c_f4 float4, c_f8 float8,
	c_num numeric(12,3), c_num38 numeric(38,10), c_numbig numeric(50,5), c_numfree numeric,
	c_text text, c_vc varchar(20), c_bpchar char(5), c_name name, c_char "char", c_citext citext,
	c_bytea bytea, c_uuid uuid, c_date date, c_ts timestamp, c_tstz timestamptz,
	c_time time, c_timetz timetz, c_interval interval, c_json json, c_jsonb jsonb,
	c_enum mood, c_inet inet, c_cidr cidr, c_mac macaddr, c_xml xml, c_money money,
	c_bit bit(4), c_varbit varbit, c_tsv tsvector, c_range int4range, c_point point, c_box box,
	c_i4arr int4[], c_textarr text[], c_numarr numeric(10,2)[], c_f8arr float8[],
	c_boolarr bool[], c_datearr date[], c_tstzarr timestamptz[], c_uuidarr uuid[],
	c_md int[][], c_dom posint, c_price price, c_big text
);
-- ordinary rows
INSERT INTO types_t
SELECT g, g % 3 = 0, (g * 7 % 30000 - 15000)::int2, g * 1000003 % 2000000000 - 1000000000,
	g::int8 * 1234567890123, g / 7.0::float4, g / 3.0::float8,
	(g * 1.001)::numeric(12,3), (g * 12345.6789012345)::numeric(38,10),
	(g::numeric * 1e40 + 0.5)::numeric(50,5), (g::numeric / 7), 'text ' || g,
	'vc' || g, 'b' || (g % 100), 'name' || g, chr(65 + g % 26), 'Cit' || g,
	decode(md5(g::text), 'hex'), md5(g::text)::uuid, DATE '2000-01-01' + g * 37,
	TIMESTAMP '2001-02-03 04:05:06.123456' + g * INTERVAL '1 day 1.000001 second',
	TIMESTAMPTZ '1999-12-31 23:59:59.5+00' + g * INTERVAL '3 hours 0.25 second',
	TIME '00:00:00' + g * INTERVAL '17 minutes 0.000007 second', '10:11:12.5+02',
	g * INTERVAL '1 day 2 hours', json_build_object('g', g, 's', 'x' || g),
	jsonb_build_object('g', g, 'arr', jsonb_build_array(g, NULL, 'y')),
	(ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ('10.0.' || (g % 250) || '.1')::inet,
	('10.' || (g % 250) || '.0.0/16')::cidr, ('08:00:2b:01:02:' || lpad(to_hex(g % 256), 2, '0'))::macaddr,
	('<r g="' || g || '">v</r>')::xml, (g * 1.25)::money, (g % 16)::bit(4), (g % 5)::bit(3)::varbit,
	to_tsvector('simple', 'word' || g || ' other'), int4range(g, g + 10),
	point(g, g / 2.0), box(point(0, 0), point(g, g)),
	ARRAY[g, NULL, -g], ARRAY['a' || g, NULL, ''], ARRAY[g / 4.0, 0]::numeric(10,2)[],
	ARRAY[g / 3.0, -0.0]::float8[], ARRAY[true, NULL], ARRAY[DATE '2020-01-01' + g],
	ARRAY[TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 second'], ARRAY[md5(g::text)::uuid],
	ARRAY[[g, 1], [2, 3]], 1 + g, g / 8.0, 'short ' || g
FROM generate_series(4, 300) g;
-- all NULL but the key
INSERT INTO types_t (id) VALUES (1);
-- extremes
INSERT INTO types_t VALUES (2, true, 32767, -2147483648, 9223372036854775807, 'NaN', 'Infinity',
	999999999.999, '9999999999999999999999999999.9999999999',
	'12345678901234567890123456789012345678901234.12345', 'NaN',
	E'uni \u00e9\u4e2d\U0001F600 tab\t nl\n quote'' dq" bs\\ comma,', '', 'ab', 'nm', 'z', 'MiXeD',
	'\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'infinity', '-infinity', 'infinity',
	'23:59:59.999999', '12:00:00+05:30', '1 year 2 mons 3 days 04:05:06.789',
	'{"a": [1, 2], "u": "\u00e9"}', '{"b": {"c": null}}', 'happy', '::1', '2001:db8::/32',
	'ff:ff:ff:ff:ff:ff', '<a>&amp;</a>', -92233720368547758.08, B'1010', B'1', 'a fat cat',
	'empty', '(1.5,-2)', '((0,0),(-1,-1))', '{}', '{"x,y","q\"t",NULL}', '{-99999999.99}',
	'{1e308,-1e-300,5e-324}', '{}', '{0001-01-01,9999-12-31}', '{"2000-01-01 00:00:00+00"}', '{}',
	'{{1,2},{3,4}}', 2147483647, -9999999999.99,
	(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 700) i));
INSERT INTO types_t VALUES (3, false, -32768, 2147483647, -9223372036854775808, '-Infinity', '-0',
	-999999999.999, '-0.0000000001', '-0.00001', '-Infinity', '', 'x', '', '', ' ', '',
	'\x', '00000000-0000-0000-0000-000000000000', '-infinity', 'infinity', '-infinity',
	'00:00:00', '00:00:00-14', '-1 days -00:00:01', '[]', '[]', 'sad', '0.0.0.0', '0.0.0.0/0',
	'00:00:00:00:00:00', '', 0, B'0000', B'', '', '(,)', '(0,0)', '((0,0),(0,0))', '{NULL}',
	'{NULL,""}', '{0.01}', '{NaN,Infinity,-Infinity}', '{f}', '{NULL}', '{NULL}', '{NULL}',
	'{}', 1, 0, '');
-- no primary key
CREATE TABLE nokey_t (a int, b text);
INSERT INTO nokey_t SELECT g % 5, 'b' || g FROM generate_series(1, 50) g;
-- REPLICA IDENTITY FULL with a TOASTed value
CREATE TABLE full_t (id int PRIMARY KEY, big text, n int);
ALTER TABLE full_t REPLICA IDENTITY FULL;
INSERT INTO full_t SELECT g, (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 300) i), g
FROM generate_series(1, 5) g;
-- for the error pipeline
CREATE TABLE bad_t (id int PRIMARY KEY, d date);
INSERT INTO bad_t VALUES (1, '2020-01-01');
CREATE TABLE toast_t (id int PRIMARY KEY, big text, n int);
INSERT INTO toast_t VALUES (1, (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i), 1);
SQL

# ---- snapshot --------------------------------------------------------------
if sync_main >"$work/s1.log" 2>&1; then pass "snapshot/exit"; else failed "snapshot/exit"; sed 's/^/    /' "$work/s1.log"; fi
compare "snapshot/types" types_t id
compare "snapshot/nokey" nokey_t - inserts
expect "snapshot/slot" "$(sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lakesync_lakesync'")" 1
expect "snapshot/publication" "$(sql "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'lakesync_lakesync'")" \
	"full_t,nokey_t,types_t"
if sync_err >"$work/e0.log" 2>&1; then pass "errors/snapshot"; else failed "errors/snapshot"; sed 's/^/    /' "$work/e0.log"; fi

# ---- streamed changes --------------------------------------------------------
# cnt (not published) counts what each statement did, for exact expectations
lk_psql <<'SQL' || { echo "FAIL $name changes"; exit 1; }
CREATE TABLE cnt (kind text, n int);
-- inserts, some with TOASTed values
WITH x AS (INSERT INTO types_t (id, c_i4, c_text, c_big, c_f8arr, c_date, c_tstz)
	SELECT g, g, 'new ' || g,
		CASE WHEN g % 10 = 0 THEN (SELECT string_agg(md5((g * 7 + i)::text), '') FROM generate_series(1, 400) i) END,
		ARRAY[g * 0.5], DATE '1970-01-01' - g, TIMESTAMPTZ '1969-12-31 23:59:59.999999+00' - g * INTERVAL '1 microsecond'
	FROM generate_series(1001, 1100) g RETURNING 1)
INSERT INTO cnt SELECT 'insert', count(*) FROM x;
-- updates, TOASTed c_big left unchanged (1010, 1020 …: filled from the last image)
WITH x AS (UPDATE types_t SET c_text = 'upd ' || id, c_f8 = coalesce(c_f8, 0) * 2
	WHERE id % 7 = 0 AND id <> 2 RETURNING 1)
INSERT INTO cnt SELECT 'update_postimage', count(*) FROM x;
WITH x AS (UPDATE types_t SET c_i4 = -1 WHERE id IN (1010, 1020, 1030) RETURNING 1)
INSERT INTO cnt SELECT 'update_postimage', count(*) FROM x;
-- a key change (old key in the preimage)
WITH x AS (UPDATE types_t SET id = id + 10000 WHERE id IN (10, 11) RETURNING 1)
INSERT INTO cnt SELECT 'update_postimage', count(*) FROM x;
WITH x AS (DELETE FROM types_t WHERE id % 11 = 0 RETURNING 1)
INSERT INTO cnt SELECT 'delete', count(*) FROM x;
-- a transaction streamed in chunks, with a rolled-back savepoint
BEGIN;
WITH x AS (INSERT INTO types_t (id, c_text, c_i8) SELECT g, repeat('s', 50) || g, g
	FROM generate_series(20001, 21500) g RETURNING 1)
INSERT INTO cnt SELECT 'insert', count(*) FROM x;
SAVEPOINT sp;
WITH x AS (INSERT INTO types_t (id, c_text) SELECT g, 'rolled back' FROM generate_series(30001, 30500) g RETURNING 1)
INSERT INTO cnt SELECT 'insert', count(*) FROM x;
WITH x AS (UPDATE types_t SET c_text = 'rolled back too' WHERE id BETWEEN 20001 AND 20100 RETURNING 1)
INSERT INTO cnt SELECT 'update_postimage', count(*) FROM x;
ROLLBACK TO sp;
WITH x AS (UPDATE types_t SET c_i8 = -c_i8 WHERE id BETWEEN 20001 AND 20300 RETURNING 1)
INSERT INTO cnt SELECT 'update_postimage', count(*) FROM x;
WITH x AS (DELETE FROM types_t WHERE id BETWEEN 21401 AND 21500 RETURNING 1)
INSERT INTO cnt SELECT 'delete', count(*) FROM x;
COMMIT;
-- an aborted streamed transaction
BEGIN;
INSERT INTO types_t (id, c_text) SELECT g, 'aborted' FROM generate_series(40001, 42000) g;
ROLLBACK;
-- no key: truncate then inserts
INSERT INTO nokey_t VALUES (NULL, NULL);
TRUNCATE nokey_t;
INSERT INTO nokey_t SELECT g, 'after ' || g FROM generate_series(1, 10) g;
INSERT INTO nokey_t VALUES (1, 'after 1');
-- FULL: the TOASTed big is unchanged
UPDATE full_t SET n = n + 100 WHERE id <= 3;
DELETE FROM full_t WHERE id = 5;
SQL
counts=$(sql "SELECT string_agg(k || '=' || n, ',' ORDER BY k) FROM (
	SELECT kind k, sum(n) + CASE kind WHEN 'insert' THEN 300 ELSE 0 END n FROM cnt GROUP BY kind
	UNION ALL SELECT 'update_preimage', 2) s")
ndel=$(sql "SELECT sum(n) FROM cnt WHERE kind = 'delete'")

if sync_main >"$work/s2.log" 2>&1; then pass "stream/exit"; else failed "stream/exit"; sed 's/^/    /' "$work/s2.log"; fi
compare "stream/types" types_t id
compare "stream/nokey" nokey_t - inserts
compare "stream/full" full_t id

H="h=$lake/public/types_t_history"
expect "history/preimage-old-key" "$(hq "$H" "SELECT count(*) FROM h WHERE _change_type = 'update_preimage'")" \
	'[["2"]]'
expect "history/preimage-ids" "$(hq "$H" "SELECT list(id ORDER BY id) FROM h WHERE _change_type = 'update_preimage' AND c_text IS NULL AND c_i4 IS NULL")" \
	'[[[10,11]]]'
expect "history/delete-key-only" "$(hq "$H" "SELECT count(*), count(c_text), count(c_i4) FROM h WHERE _change_type = 'delete'")" \
	"[[\"$ndel\",\"0\",\"0\"]]"
expect "history/unique-order" "$(hq "$H" "SELECT count(*) FROM (SELECT _commit_lsn, _change_seq FROM h GROUP BY ALL HAVING count(*) > 1)")" '[["0"]]'
expect "history/snapshot-rows" "$(hq "$H" "SELECT count(*), count(DISTINCT _commit_lsn), count(_xid) FROM h WHERE _xid IS NULL")" '[["300","1","0"]]'
expect "history/rolled-back-absent" "$(hq "$H" "SELECT count(*) FROM h WHERE id BETWEEN 30001 AND 42000 OR c_text LIKE 'rolled back%'")" '[["0"]]'
expect "history/streamed-one-lsn" "$(hq "$H" "SELECT count(DISTINCT _commit_lsn), count(DISTINCT _xid), max(_change_seq) - min(_change_seq) + 1 = count(*) FROM h WHERE id BETWEEN 20001 AND 21500")" \
	'[["1","1",true]]'
expect "history/change-types" "$(hq "$H" "SELECT string_agg(_change_type || '=' || n, ',' ORDER BY _change_type) FROM (SELECT _change_type, count(*) n FROM h GROUP BY 1)")" \
	"[[\"$counts\"]]"
expect "history/toast-filled" "$(hq "$H" "SELECT count(*) FROM h WHERE _change_type = 'update_postimage' AND id IN (1010, 1020, 1030) AND length(c_big) = 12800")" '[["3"]]'
N="h=$lake/public/nokey_t_history"
expect "history/truncate-row" "$(hq "$N" "SELECT count(*), count(a), count(b), min(_change_seq) FROM h WHERE _change_type = 'truncate'")" '[["1","0","0","0"]]'

# ---- slow flushes: the heartbeat keeps the walsender from timing out -----------
sql "ALTER SYSTEM SET wal_sender_timeout = '1500ms'" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null
LAKESYNC_TEST_FLUSH_DELAY_MS=3500 LAKESYNC_SPILL_MEM=16k "$bin" sync --source "$dsn" --target "$lake" \
	--table public.types_t --table public.nokey_t --table public.full_t --flush-interval-ms 1 >"$work/slow.log" 2>&1 &
slowpid=$!
for i in 1 2 3; do
	sleep 1
	lk_psql -c "INSERT INTO types_t (id, c_text) SELECT g, 'slow' FROM generate_series(50001 + $i * 10, 50010 + $i * 10) g" \
		-c "INSERT INTO nokey_t VALUES ($i, 'slow')" >/dev/null
done
sleep 9
kill -TERM $slowpid
wait $slowpid
expect "slow-flush/exit" "$?/$(grep -c -e reconnecting -e 'could not send' "$work/slow.log")" "0/0"
compare "slow-flush/types" types_t id
sql "ALTER SYSTEM RESET wal_sender_timeout" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null

# ---- a table added to the running pipeline: its own snapshot (temporary slot) --
lk_psql -c "CREATE TABLE added_t (k text PRIMARY KEY, n numeric(8,3))" \
	-c "INSERT INTO added_t SELECT 'k' || g, g / 8.0 FROM generate_series(1, 500) g" \
	-c "INSERT INTO types_t (id, c_text) VALUES (60001, 'with added')" >/dev/null
extra="--table public.added_t"
if sync_main >"$work/added.log" 2>&1; then pass "added/exit"; else failed "added/exit"; sed 's/^/    /' "$work/added.log"; fi
expect "added/publication" "$(sql "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'lakesync_lakesync' AND tablename = 'added_t'")" 1
expect "added/no-temporary-slot-left" "$(sql "SELECT count(*) FROM pg_replication_slots")" 2
lk_psql -c "UPDATE added_t SET n = -n WHERE k IN ('k1', 'k2')" -c "DELETE FROM added_t WHERE k = 'k3'" >/dev/null
sync_main >>"$work/added.log" 2>&1
compare "added/added" added_t k
compare "added/types" types_t id

# ---- connection loss: the walsender is terminated, lakesync reconnects -----------
"$bin" sync --source "$dsn" --target "$lake" --table public.types_t --table public.nokey_t \
	--table public.full_t $extra >"$work/lost.log" 2>&1 &
lostpid=$!
sleep 2
lk_psql -c "INSERT INTO types_t (id, c_text) VALUES (60002, 'before loss')" >/dev/null
sleep 1
sql "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'lakesync_lakesync'" >/dev/null
lk_psql -c "INSERT INTO types_t (id, c_text) VALUES (60003, 'after loss')" \
	-c "UPDATE added_t SET n = 0 WHERE k = 'k4'" >/dev/null
sleep 5
kill -TERM $lostpid
wait $lostpid
expect "lost/exit" "$?/$(grep -c 'replication interrupted' "$work/lost.log")/$(grep -c 'replication resumed' "$work/lost.log")" "0/1/1"
compare "lost/types" types_t id
compare "lost/added" added_t k

# ---- errors: unrepresentable value, unknown TOAST image ----------------------
lk_psql -c "INSERT INTO bad_t VALUES (2, '2021-01-01')" -c "INSERT INTO bad_t VALUES (3, '10000-01-01')" \
	-c "UPDATE toast_t SET n = 2 WHERE id = 1" >/dev/null
sync_err >"$work/e1.log" 2>&1
rc=$?
expect "errors/exit" "$rc" 4
if grep -q 'cannot represent' "$work/e1.log" && grep -q 'table "public.bad_t", commit lsn [0-9A-F]*/[0-9A-F]*, column "d"' "$work/e1.log"; then
	pass "errors/unrepresentable-message"
else
	failed "errors/unrepresentable-message"; sed 's/^/    /' "$work/e1.log"
fi
# the TOASTed value left unchanged by the update, in a row written by the
# snapshot of an earlier run: filled from the row's latest image in the
# history table (its key index), not an error
if ! grep -q 'unchanged TOAST value' "$work/e1.log"; then
	pass "errors/toast-no-error"
else
	failed "errors/toast-no-error"; sed 's/^/    /' "$work/e1.log"
fi
B="h=$lake/public/bad_t_history"
expect "errors/bad-delta" "$(hq "$B" "SELECT list(id ORDER BY id) FROM h")" '[[[1,2]]]'
T="h=$lake/public/toast_t_history"
expect "errors/toast-filled" "$(hq "$T" "SELECT list(n ORDER BY _commit_lsn) || list(length(big)::INT ORDER BY _commit_lsn) FROM h")" '[[[1,2,12800,12800]]]'
badlsn=$(sed -n 's/.*table "public.bad_t", commit lsn \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$work/e1.log" | head -1)
expect "errors/slot-held" "$(sql "SELECT confirmed_flush_lsn <= '${badlsn:-0/0}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'lakesync_errs'")" t
sync_err >"$work/e2.log" 2>&1
rc=$?
expect "errors/rerun-exit" "$rc" 4
expect "errors/rerun-bad-delta" "$(hq "$B" "SELECT list(id ORDER BY id) FROM h")" '[[[1,2]]]'

# ---- cli -----------------------------------------------------------------------
"$bin" sync --help >"$work/help" 2>&1
expect "cli/help" "$?/$(grep -c -- '--until-caught-up' "$work/help")" "0/2"
"$bin" sync --target "$lake" --table public.x >/dev/null 2>&1
expect "cli/no-source" "$?" 2
"$bin" sync --source "$dsn" --target "$lake" --table public.types_t --jobs 0 >/dev/null 2>&1
expect "cli/bad-jobs" "$?" 2
"$bin" sync --source "$dsn" --target "$lake" --pipeline mcli --table public.nokey_t --mode mirror \
	--until-caught-up >/dev/null 2>&1
expect "cli/mirror-needs-key" "$?/$([ -e "$lake/public/nokey_t" ] && echo created)" "4/"
"$bin" sync --source "$dsn" --target "$lake" --table public.nope --until-caught-up >"$work/nf" 2>&1
expect "cli/missing-table" "$?/$(grep -q 'nope' "$work/nf" && echo named)" "1/named"
"$bin" sync --source "$dsn" --drop >/dev/null 2>&1 && "$bin" sync --source "$dsn" --pipeline errs --drop >/dev/null 2>&1
expect "cli/drop" "$?/$(sql "SELECT count(*) FROM pg_replication_slots") $(sql "SELECT count(*) FROM pg_publication")" "0/0 0"


# ---- a new slot under existing history: resync (truncate row, then snapshot) -----
lk_psql -c "DELETE FROM types_t WHERE id = 60001" >/dev/null   # while no slot exists
if sync_main >"$work/resync.log" 2>&1; then pass "resync/exit"; else failed "resync/exit"; sed 's/^/    /' "$work/resync.log"; fi
expect "resync/warned" "$(grep -c 'resyncing it' "$work/resync.log")" 4
compare "resync/types" types_t id
compare "resync/added" added_t k
expect "resync/truncate-row" "$(hq "$H" "SELECT count(*), min(_change_seq), count(_xid) FROM h WHERE _change_type = 'truncate'")" '[["1","0","0"]]'
"$bin" sync --source "$dsn" --drop >/dev/null 2>&1

exit $fail
