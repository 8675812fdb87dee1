#!/usr/bin/env bash
# sync_mirror.sh — `lakesync sync --mode mirror` against a throwaway
# PostgreSQL 15 (lib.sh).  After every run the Delta table read back with
# `lakesync delta scan` (CSV, sorted) must equal `SELECT * FROM t` (COPY
# CSV, sorted) exactly, and `lakesync delta changes` must show the change
# types the run made.
#
#   snapshot   three tables snapshotted into <lake>/public/<table>: m_pk
#              (primary key, a TOASTed > 8 kB text stored EXTERNAL), m_full
#              (no key, REPLICA IDENTITY FULL, duplicate rows), m_ident
#              (REPLICA IDENTITY USING INDEX, no primary key)
#   stream     inserts, updates leaving the TOASTed text untouched (its value
#              comes from the current row), key changes, deletes, several
#              changes of one row in one transaction, a row inserted and
#              deleted in one transaction, a transaction streamed in chunks
#              (logical_decoding_work_mem = 64kB) with a rolled-back
#              savepoint, one duplicate of m_full deleted by ctid
#   changes    the change feed of the streamed versions has insert,
#              update_preimage, update_postimage and delete rows
#   restart    a new run (empty caches, saved key index) updates rows of the
#              snapshot without touching their TOASTed text
#   rebuild    the key index directory removed: rebuilt, same result
#   compact    a continuous run with compaction every 300 ms: a trickle of
#              small commits is compacted, later changes still find their
#              rows (the index followed), equal after a SIGTERM and a rerun
#   huge       one transaction of 300 000 inserts, updates and deletes of
#              them and key changes (streamed, spilled, several data files
#              before its commit): one Delta version, several new files,
#              some with a deletion vector, equal
#   kill       three continuous runs killed with SIGKILL mid-stream (index
#              saved or not), then --until-caught-up: equal
#   truncate   TRUNCATE then inserts: only the new rows remain
#   nokey      a table with neither key nor REPLICA IDENTITY FULL is refused
#              (exit 4, actionable message, nothing created)
#   config     `lakesync run` with one table `mode = mirror` and one in
#              history mode: a change arrives, SIGTERM exits 0, the mirror
#              equals the table, `lakesync status` reads the mirror location
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_mirror
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! pg_start "logical_decoding_work_mem = 64kB"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-mirror.XXXXXX")
chmod 755 "$work"
trap 'pg_stop; [ "${KEEPWORK:-0}" = 1 ] || rm -rf "$work"' EXIT
lake="$work/lake"
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0

pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
sql() { lk_psql -tA -c "$1"; }
expect() { # label actual expected
	if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi
}
run_sync() { # log-name [extra args]
	local log=$1
	shift
	"$bin" sync --source "$dsn" --target "$lake" --table public.m_pk --table public.m_full \
		--table public.m_ident --mode mirror --until-caught-up --jobs 2 "$@" \
		>"$work/$log.log" 2>&1
}
# compare label table: Delta rows == Postgres rows, exactly (sorted CSV)
compare() {
	local label=$1 t=$2
	"$bin" delta scan "$lake/public/$t" --format csv 2>"$work/scan.err" | tail -n +2 | tr -d '\r' |
		LC_ALL=C sort >"$work/delta.csv"
	lk_psql -c "COPY (SELECT * FROM $t) TO STDOUT (FORMAT csv)" | LC_ALL=C sort >"$work/pg.csv"
	if cmp -s "$work/delta.csv" "$work/pg.csv"; then
		pass "$label ($(wc -l <"$work/pg.csv") rows)"
	else
		failed "$label"
		diff "$work/delta.csv" "$work/pg.csv" | cut -c1-200 | head -10
		head -3 "$work/scan.err"
	fi
}
version() { # table → latest Delta version
	ls "$lake/public/$1/_delta_log/" | grep -E '^[0-9]{20}\.json$' | tail -1 | sed 's/\.json//; s/^0*//; s/^$/0/'
}
# change types of versions from..latest → "type count" lines
change_types() {
	"$bin" delta changes "$lake/public/$1" --from "$2" --format csv 2>/dev/null | tail -n +2 |
		tr -d '\r' | awk -F, -v n="$3" '{print $n}' | LC_ALL=C sort | uniq -c |
		awk '{printf "%s=%s ", $2, $1}'
}

# ---- schema and snapshot data ----------------------------------------------
lk_psql <<'SQL' || { echo "FAIL $name setup"; exit 1; }
CREATE TABLE m_pk (id int PRIMARY KEY, v text, n int, big text, d date);
ALTER TABLE m_pk ALTER COLUMN big SET STORAGE EXTERNAL;
INSERT INTO m_pk SELECT g, 'v' || g, g * 10,
	CASE WHEN g % 5 = 0 THEN repeat(md5(g::text), 300) END, DATE '2020-01-01' + g
FROM generate_series(1, 500) g;
CREATE TABLE m_full (a int, b text);
ALTER TABLE m_full REPLICA IDENTITY FULL;
INSERT INTO m_full SELECT g % 7, 'x' || (g % 3) FROM generate_series(1, 60) g;
CREATE TABLE m_ident (k int NOT NULL, u text NOT NULL, v text);
CREATE UNIQUE INDEX m_ident_ku ON m_ident (k, u);
ALTER TABLE m_ident REPLICA IDENTITY USING INDEX m_ident_ku;
INSERT INTO m_ident SELECT g, 'u' || (g % 4), 'val' || g FROM generate_series(1, 100) g;
CREATE TABLE m_nokey (a int);
SQL

if run_sync first; then
	pass "snapshot/run"
else
	failed "snapshot/run (exit $?)"
	tail -5 "$work/first.log"
fi
compare "snapshot/m_pk" m_pk
compare "snapshot/m_full" m_full
compare "snapshot/m_ident" m_ident
expect "snapshot/location" "$([ -d "$lake/public/m_pk/_delta_log" ] && [ ! -e "$lake/public/m_pk_history" ] && echo ok)" ok
expect "snapshot/properties" "$(grep -c 'enableDeletionVectors\|enableChangeDataFeed' "$lake/public/m_pk/_delta_log/00000000000000000000.json")" 1
v0=$(version m_pk)

# ---- streamed changes ---------------------------------------------------------
lk_psql <<'SQL' || failed "stream/sql"
INSERT INTO m_pk SELECT g, 'new' || g, g, NULL, NULL FROM generate_series(501, 600) g;
-- the TOASTed text is not touched: pgoutput sends it as unchanged ('u')
UPDATE m_pk SET n = n + 1 WHERE id % 5 = 0 AND id <= 250;
UPDATE m_pk SET id = id + 1000 WHERE id IN (10, 20, 30, 31);   -- key changes
DELETE FROM m_pk WHERE id % 11 = 0;
BEGIN;
UPDATE m_pk SET v = 'a' WHERE id = 40;
UPDATE m_pk SET v = 'b', n = -1 WHERE id = 40;
UPDATE m_pk SET id = 4000 WHERE id = 40;
INSERT INTO m_pk VALUES (7000, 'gone', 0, NULL, NULL);
DELETE FROM m_pk WHERE id = 7000;
UPDATE m_pk SET d = NULL WHERE id = 45;
COMMIT;
-- a transaction bigger than logical_decoding_work_mem: streamed in chunks
BEGIN;
UPDATE m_pk SET n = n * 2 WHERE id BETWEEN 100 AND 400;
SAVEPOINT s;
UPDATE m_pk SET v = 'rolled back' WHERE id BETWEEN 100 AND 400;
ROLLBACK TO s;
UPDATE m_pk SET big = repeat('z', 9000) WHERE id = 105;
INSERT INTO m_pk SELECT g, 'bulk', g, repeat('q', 100), NULL FROM generate_series(10001, 12000) g;
DELETE FROM m_pk WHERE id BETWEEN 10001 AND 10100;
COMMIT;
DELETE FROM m_full WHERE ctid = (SELECT min(ctid) FROM m_full WHERE a = 1 AND b = 'x1');
UPDATE m_full SET b = 'y' WHERE a = 2;
INSERT INTO m_full VALUES (3, 'x0'), (3, 'x0');
UPDATE m_ident SET v = 'changed' WHERE k % 3 = 0;
UPDATE m_ident SET u = 'moved' WHERE k IN (5, 6);
DELETE FROM m_ident WHERE k > 90;
SQL
if run_sync stream; then pass "stream/run"; else failed "stream/run (exit $?)"; tail -5 "$work/stream.log"; fi
compare "stream/m_pk" m_pk
compare "stream/m_full" m_full
compare "stream/m_ident" m_ident

# ---- change feed ----------------------------------------------------------------
ct=$(change_types m_pk $((v0 + 1)) 6)
for kind in insert update_preimage update_postimage delete; do
	case " $ct" in
	*" $kind="*) pass "changes/$kind" ;;
	*) failed "changes/$kind (got '$ct')" ;;
	esac
done
# the pre- and post-images pair up
pre=$(echo "$ct" | tr ' ' '\n' | sed -n 's/^update_preimage=//p')
post=$(echo "$ct" | tr ' ' '\n' | sed -n 's/^update_postimage=//p')
expect "changes/pairs" "$pre" "$post"

# ---- restart: 'u' values of snapshot rows, from the data files ----------------------
lk_psql -c "UPDATE m_pk SET n = n + 100 WHERE big IS NOT NULL AND id < 300" || failed "restart/sql"
if run_sync restart; then pass "restart/run"; else failed "restart/run (exit $?)"; tail -5 "$work/restart.log"; fi
compare "restart/m_pk" m_pk
expect "restart/index-saved" "$(ls "$lake/_lakesync/lakesync/index/" 2>/dev/null | sort | tr '\n' ' ')" \
	"public.m_full public.m_ident public.m_pk "

# ---- the key index rebuilt from the table ------------------------------------------------
rm -rf "$lake/_lakesync/lakesync/index"
lk_psql <<'SQL' || failed "rebuild/sql"
UPDATE m_pk SET v = 'after rebuild' WHERE id % 7 = 0;
DELETE FROM m_full WHERE a = 4;
UPDATE m_ident SET v = NULL WHERE k < 10;
SQL
if run_sync rebuild; then pass "rebuild/run"; else failed "rebuild/run (exit $?)"; tail -5 "$work/rebuild.log"; fi
compare "rebuild/m_pk" m_pk
compare "rebuild/m_full" m_full
compare "rebuild/m_ident" m_ident

# ---- compaction in the daemon: the index follows the rows -------------------------------------
lk_psql -c "INSERT INTO m_pk SELECT g, 'c' || g, g, NULL, NULL FROM generate_series(20001, 20400) g" ||
	failed "compact/sql"
run_sync compact0 || failed "compact/prepare"
files_before=$("$bin" delta scan "$lake/public/m_pk" --format csv >/dev/null 2>&1; ls "$lake/public/m_pk" | grep -c '^part-.*\.parquet$')
LAKESYNC_COMPACT_INTERVAL_MS=300 LAKESYNC_COMPACT_MIN_FILES=2 "$bin" sync --source "$dsn" \
	--target "$lake" --table public.m_pk --table public.m_full --table public.m_ident --mode mirror \
	--flush-interval-ms 50 >"$work/compact.log" 2>&1 &
cpid=$!
for k in $(seq 1 40); do
	lk_psql -c "UPDATE m_pk SET n = n + 1 WHERE id = 20000 + $k * 7" \
		-c "INSERT INTO m_pk VALUES (30000 + $k, 'trickle', $k, NULL, NULL)" \
		-c "DELETE FROM m_pk WHERE id = 20000 + $k * 3" >/dev/null || failed "compact/trickle"
	sleep 0.1
done
for _ in $(seq 1 100); do
	grep -q 'compacted [0-9]* files' "$work/compact.log" && break
	sleep 0.2
done
# changes after the compaction find their rows through the moved entries
lk_psql -c "UPDATE m_pk SET v = 'after compaction' WHERE id > 20000" -c "DELETE FROM m_pk WHERE id % 13 = 0" >/dev/null
for _ in $(seq 1 100); do
	"$bin" delta scan "$lake/public/m_pk" --format csv 2>/dev/null | grep -q 'after compaction' && break
	sleep 0.2
done
sleep 1
kill -TERM "$cpid"
wait "$cpid"
expect "compact/exit" "$?/$(grep -c 'compacted [0-9]* files' "$work/compact.log" | sed 's/^[1-9][0-9]*$/some/')" "0/some"
compare "compact/m_pk" m_pk
run_sync compact2 || failed "compact/rerun"
compare "compact/m_pk-rerun" m_pk

# ---- one transaction bigger than memory: rows of earlier files of the open commit -----------
lk_psql <<'SQL' || failed "huge/sql"
BEGIN;
INSERT INTO m_pk SELECT g, repeat('h', 60) || g, g, NULL, NULL FROM generate_series(100001, 400000) g;
UPDATE m_pk SET n = -n WHERE id BETWEEN 100001 AND 200000;
DELETE FROM m_pk WHERE id BETWEEN 150001 AND 160000 OR id BETWEEN 390001 AND 400000;
UPDATE m_pk SET id = id + 1000000 WHERE id BETWEEN 120001 AND 121000;
COMMIT;
SQL
vh=$(version m_pk)
if run_sync huge; then pass "huge/run"; else failed "huge/run (exit $?)"; tail -5 "$work/huge.log"; fi
compare "huge/m_pk" m_pk
expect "huge/one-commit" "$(version m_pk)" $((vh + 1))
hj="$lake/public/m_pk/_delta_log/$(printf '%020d' $((vh + 1))).json"
nadd=$(grep -c '"add"' "$hj")
ndv=$(grep -c '"add".*"deletionVector"' "$hj")
expect "huge/dv-on-new-files" "$([ "$nadd" -ge 2 ] && [ "$ndv" -ge 1 ] && echo ok)" "ok"

# ---- SIGKILL while streaming: the rerun resumes exactly once ----------------------------------
for round in 1 2 3; do
	"$bin" sync --source "$dsn" --target "$lake" --table public.m_pk --table public.m_full \
		--table public.m_ident --mode mirror --flush-interval-ms 100 >"$work/kill$round.log" 2>&1 &
	kpid=$!
	for k in $(seq 1 15); do
		lk_psql -c "UPDATE m_pk SET n = n + 1, v = 'k$round' WHERE id % 17 = $k" \
			-c "INSERT INTO m_pk VALUES ($((500000 + round * 100 + k)), 'killed?', $k, repeat('x', 9000), NULL)" \
			-c "UPDATE m_pk SET n = n - 1 WHERE id = $((500000 + round * 100 + k))" \
			-c "DELETE FROM m_pk WHERE id % 31 = $k AND id < 100000" \
			-c "UPDATE m_full SET b = b || '$k' WHERE a = $((k % 7))" >/dev/null || failed "kill/sql"
		sleep 0.05
	done
	sleep 0.$((RANDOM % 9 + 1))
	kill -9 "$kpid" 2>/dev/null
	wait "$kpid" 2>/dev/null
done
if run_sync killrerun; then pass "kill/rerun"; else failed "kill/rerun (exit $?)"; tail -5 "$work/killrerun.log"; fi
compare "kill/m_pk" m_pk
compare "kill/m_full" m_full

# ---- truncate ----------------------------------------------------------------------------
lk_psql <<'SQL' || failed "truncate/sql"
BEGIN;
UPDATE m_pk SET v = 'before truncate' WHERE id = 1;
TRUNCATE m_pk;
INSERT INTO m_pk VALUES (1, 'one', 1, repeat('t', 10000), '2024-02-29'), (2, 'two', 2, NULL, NULL);
COMMIT;
UPDATE m_pk SET n = 5 WHERE id = 1;
SQL
vt=$(version m_pk)
if run_sync truncate; then pass "truncate/run"; else failed "truncate/run (exit $?)"; tail -5 "$work/truncate.log"; fi
compare "truncate/m_pk" m_pk
ct=$(change_types m_pk $((vt + 1)) 6)
case "$ct" in
*delete=*insert=*) pass "truncate/changes" ;;
*) failed "truncate/changes (got '$ct')" ;;
esac

# ---- a table without key ---------------------------------------------------------------
"$bin" sync --source "$dsn" --target "$lake" --pipeline nokey --table public.m_nokey --mode mirror \
	--until-caught-up >"$work/nokey.log" 2>&1
rc=$?
expect "nokey/refused" "$rc/$(grep -c 'REPLICA IDENTITY FULL' "$work/nokey.log")/$([ -e "$lake/public/m_nokey" ] && echo created)" "4/1/"

# ---- lakesync run with mode = mirror ---------------------------------------------------------
lake2="$work/lake2"
cat >"$work/ls.conf" <<EOF
[pipeline.cfgp]
source = "$dsn"
target = "$lake2"
mode = history
tables = public.m_ident, public.m_full
flush_interval_ms = 200

[pipeline.cfgp.table.public.m_ident]
mode = mirror
EOF
"$bin" run -c "$work/ls.conf" >"$work/run.log" 2>&1 &
runpid=$!
lk_psql -c "UPDATE m_ident SET v = 'via run' WHERE k = 1" || failed "config/sql"
want=$(sql "SELECT count(*) FROM m_ident")
ok=
for _ in $(seq 1 120); do
	if "$bin" delta scan "$lake2/public/m_ident" --format csv 2>/dev/null | grep -q 'via run'; then
		ok=1
		break
	fi
	sleep 0.25
done
kill -TERM "$runpid" 2>/dev/null
wait "$runpid"
expect "config/run" "${ok:-no}/$?" "1/0"
lake_save=$lake
lake=$lake2
compare "config/mirror-table" m_ident
lake=$lake_save
expect "config/history-table" "$([ -d "$lake2/public/m_full_history/_delta_log" ] && [ ! -e "$lake2/public/m_full" ] && echo ok)" ok
"$bin" status -c "$work/ls.conf" >"$work/status.out" 2>&1
# status reads the mirror location: its rows
expect "config/status" "$(grep -cE "public\.m_ident +[a-z]+ +$want " "$work/status.out")" 1

echo "$name: done"
exit $fail
