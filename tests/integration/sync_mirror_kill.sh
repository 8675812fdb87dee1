#!/usr/bin/env bash
# sync_mirror_kill.sh — mirror mode (issue 5, first done-when): a random
# concurrent workload while `lakesync sync --mode mirror` is killed with
# SIGKILL at random moments (at least 20 times: during the snapshot, while
# streaming, while committing) and restarted; then one last run
# --until-caught-up, and every mirror table must equal its Postgres table.
#
# Tables (PostgreSQL 15, logical_decoding_work_mem = 64kB):
#   m1  id int PRIMARY KEY                     upserts, deletes, key changes,
#                                              several changes to one row and
#                                              an insert deleted again in one
#                                              transaction; big streamed
#                                              transactions (> 64kB) with
#                                              updates, deletes, key changes
#                                              and a rolled-back savepoint
#   m2  PRIMARY KEY (a int, b text)            upserts, deletes, changes of
#                                              the text key column, TRUNCATE
#   m3  no key, REPLICA IDENTITY FULL          duplicate rows (delete or
#                                              update exactly one of them),
#                                              TRUNCATE + inserts in one
#                                              transaction
#   m4  id int PRIMARY KEY, big text STORAGE   ~9.6 kB of random hex per row,
#       EXTERNAL (out of line, uncompressed)   stored out of line; updated on
#                                              OTHER columns (pgoutput sends
#                                              "unchanged TOAST"), also with a
#                                              key change, twice in one
#                                              transaction, inside a streamed
#                                              transaction right after big was
#                                              changed in that transaction
# pgbench runs 4 clients with multi-statement transactions, savepoints rolled
# back and whole transactions rolled back; a side loop runs the big
# transactions, an aborted big transaction and the TRUNCATEs.  Every m1, m2,
# m4 row carries `ver` (a sequence value set by a trigger at each
# insert/update), so a lost or stale update shows as a different row.
#
# Checks (tests/oracle/mirror_check.mjs, per table; see its header):
#   columns, scan    `lakesync delta scan` == SELECT * FROM t (typed and as
#                    canonical text, same columns)
#   replay, count    independent log replay + deletion vectors decoded in JS
#                    == the table; DuckDB count(*) over the live files − Σ DV
#                    cardinalities == SELECT count(*)
#   cdf              `lakesync delta changes --from 0` replays to the table;
#                    no key inserted twice without a delete between
# plus: the workload really produced unchanged-TOAST updates (test_decoding
# on one sample update), pgbench ran clean, ≥ 20 kills.
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  KILLS (default 24) and
# WORK_SECONDS (default 40) tune the run; KEEP_WORK=1 keeps the directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_mirror_kill
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
export LAKESYNC_BIN=$bin
KILLS=${KILLS:-24}
WORK_SECONDS=${WORK_SECONDS:-40}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! command -v node >/dev/null || [ ! -d "$root/tests/oracle/node_modules/@duckdb" ] ||
	! command -v pgbench >/dev/null; then
	echo "SKIP $name (no node/DuckDB oracle or pgbench)"
	exit 0
fi
if "$bin" sync --source "host=/nonexistent" --target /nonexistent --table public.t --mode mirror 2>&1 |
	grep -q 'mirror is not supported yet'; then
	echo "SKIP $name (lakesync sync --mode mirror is not implemented yet)"
	exit 0
fi
if ! pg_start "logical_decoding_work_mem = 64kB" "wal_sender_timeout = 10s"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-mkill.XXXXXX")
chmod 755 "$work"
lspid=
bgpid=
pbpid=
cleanup() {
	[ -n "$lspid" ] && kill -9 "$lspid" 2>/dev/null
	[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
	[ -n "$pbpid" ] && kill "$pbpid" 2>/dev/null
	wait 2>/dev/null
	pg_stop
	[ "${KEEP_WORK:-0}" = 1 ] && echo "work dir $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
lake="$work/lake"
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
sql() { lk_psql -tA -c "$1"; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi; }
tables="--table public.m1 --table public.m2 --table public.m3 --table public.m4"
kills=0
# start lakesync in the background; kill -9 it after $1 seconds
# (half the runs with the smallest key index budget, so the index spills;
# the maintenance worker compacts often, so kills also hit compactions)
run_and_kill() {
	local im=()
	[ $((RANDOM % 2)) = 0 ] && im=(--index-memory 1M)
	LAKESYNC_LOG=debug LAKESYNC_SPILL_MEM=32k LAKESYNC_COMPACT_INTERVAL_MS=$((200 + RANDOM % 800)) \
		LAKESYNC_COMPACT_MIN_FILES=$((2 + RANDOM % 4)) "$bin" sync --source "$dsn" --target "$lake" $tables \
		--mode mirror --jobs 2 --flush-interval-ms $((50 + RANDOM % 900)) "${im[@]}" >>"$work/lakesync.log" 2>&1 &
	lspid=$!
	sleep "$1"
	if kill -9 "$lspid" 2>/dev/null; then
		kills=$((kills + 1))
	fi
	wait "$lspid" 2>/dev/null
	lspid=
}
rnd() { # random seconds in [$1, $2] with 2 decimals
	awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN { printf "%.2f", a + (b - a) * r / 32767 }'
}

lk_psql <<'SQL' || { echo "FAIL $name setup"; exit 1; }
CREATE SEQUENCE vseq;
CREATE FUNCTION set_ver() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.ver := nextval('vseq'); RETURN NEW; END $$;
-- ~9.6 kB of random hex: incompressible enough, and EXTERNAL storage keeps it
-- uncompressed and out of line anyway
CREATE FUNCTION big_text() RETURNS text LANGUAGE sql VOLATILE AS
$$ SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 300) $$;
CREATE TABLE m1 (id int PRIMARY KEY, ver bigint, payload text, n int);
CREATE TABLE m2 (a int, b text, ver bigint, v int, PRIMARY KEY (a, b));
CREATE TABLE m3 (x int, y text, z int);
ALTER TABLE m3 REPLICA IDENTITY FULL;
CREATE TABLE m4 (id int PRIMARY KEY, ver bigint, big text, n int);
ALTER TABLE m4 ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON m1 FOR EACH ROW EXECUTE FUNCTION set_ver();
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON m2 FOR EACH ROW EXECUTE FUNCTION set_ver();
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON m4 FOR EACH ROW EXECUTE FUNCTION set_ver();
INSERT INTO m1 (id, payload, n) SELECT c * 100000 + g, md5(g::text), g FROM generate_series(1, 400) g, generate_series(0, 3) c;
INSERT INTO m1 (id, payload, n) SELECT 5000000 + g, repeat('p', 200), g FROM generate_series(1, 20000) g;
INSERT INTO m2 (a, b, v) SELECT c, 'k' || g, g FROM generate_series(1, 400) g, generate_series(0, 3) c;
INSERT INTO m3 (x, y, z) SELECT c, 'dup', g % 5 FROM generate_series(1, 100) g, generate_series(0, 3) c;
INSERT INTO m4 (id, big, n) SELECT c * 1000 + g, big_text(), g FROM generate_series(1, 6) g, generate_series(0, 3) c;
SQL

# the TOAST values are really out of line, and an update of another column
# really sends "unchanged TOAST" (test_decoding on one sample update)
expect "setup/toast-out-of-line" "$(sql "SELECT count(*) FROM m4 WHERE pg_column_size(big) >= 8000")" 24
expect "setup/toast-table-used" "$(sql "SELECT pg_relation_size(reltoastrelid) > 100000 FROM pg_class WHERE relname = 'm4'")" t
sql "SELECT 1 FROM pg_create_logical_replication_slot('toast_probe', 'test_decoding')" >/dev/null
lk_psql -tA -c "SET synchronous_commit = on" -c "UPDATE m4 SET n = n WHERE id = 1" >/dev/null
probe=$(sql "SELECT data FROM pg_logical_slot_get_changes('toast_probe', NULL, NULL) WHERE data LIKE 'table public.m4:%'")
sql "SELECT pg_drop_replication_slot('toast_probe')" >/dev/null
if grep -q "big\[text\]:unchanged-toast-datum" <<<"$probe"; then
	pass "setup/unchanged-toast (an update of n sends big as unchanged TOAST)"
else
	failed "setup/unchanged-toast (test_decoding: ${probe:0:200})"
fi

cat >"$work/work.sql" <<'EOF'
\set base :client_id * 100000
\set k random(1, 500)
\set id :base + :k
\set id2 :base + random(1, 500)
\set op random(1, 24)
\set t4 :client_id * 1000 + random(1, 999)
BEGIN;
INSERT INTO m1 (id, payload, n) VALUES (:id, md5(random()::text), :op) ON CONFLICT (id) DO UPDATE SET n = m1.n + 1, payload = EXCLUDED.payload;
SAVEPOINT s1;
UPDATE m1 SET n = n + 1, payload = md5(random()::text) WHERE id = :id2;
INSERT INTO m2 (a, b, v) VALUES (:client_id, 'k' || :k, :op) ON CONFLICT (a, b) DO UPDATE SET v = m2.v + EXCLUDED.v;
\if :op > 20
ROLLBACK TO SAVEPOINT s1;
\endif
\if :op = 3
DELETE FROM m1 WHERE id = :id2;
\endif
\if :op = 4
UPDATE m1 SET id = id + 50000 WHERE id = :id AND NOT EXISTS (SELECT 1 FROM m1 WHERE id = :id + 50000);
\endif
\if :op = 12
UPDATE m1 SET n = n + 1 WHERE id = :id;
UPDATE m1 SET n = n + 1, payload = 'twice' WHERE id = :id;
UPDATE m1 SET id = id + 60000 WHERE id = :id AND NOT EXISTS (SELECT 1 FROM m1 WHERE id = :id + 60000);
\endif
\if :op = 13
INSERT INTO m1 (id, payload, n) VALUES (:base + 90000 + :k, 'short-lived', 0) ON CONFLICT (id) DO NOTHING;
UPDATE m1 SET n = 1 WHERE id = :base + 90000 + :k;
DELETE FROM m1 WHERE id = :base + 90000 + :k;
\endif
SAVEPOINT s2;
\if :op = 5
DELETE FROM m2 WHERE a = :client_id AND b = 'k' || :k;
\endif
\if :op = 6
UPDATE m2 SET b = b || 'x' WHERE a = :client_id AND b = 'k' || :k AND NOT EXISTS (SELECT 1 FROM m2 WHERE a = :client_id AND b = 'k' || :k || 'x');
\endif
\if :op = 9
INSERT INTO m3 (x, y, z) VALUES (:client_id, 'dup', :k % 5), (:client_id, 'dup', :k % 5);
\endif
\if :op = 10
DELETE FROM m3 WHERE ctid = (SELECT ctid FROM m3 WHERE x = :client_id AND z = :k % 5 LIMIT 1);
\endif
\if :op = 11
UPDATE m3 SET z = z + 1 WHERE ctid = (SELECT ctid FROM m3 WHERE x = :client_id AND z = :k % 5 LIMIT 1);
\endif
\if :op = 7
ROLLBACK TO SAVEPOINT s2;
\endif
\if :op = 8
UPDATE m4 SET n = n + 1 WHERE id = (SELECT id FROM m4 WHERE id / 1000 = :client_id ORDER BY random() LIMIT 1);
\endif
\if :op = 14
UPDATE m4 SET id = :t4 WHERE id = (SELECT id FROM m4 WHERE id / 1000 = :client_id ORDER BY random() LIMIT 1) AND NOT EXISTS (SELECT 1 FROM m4 WHERE id = :t4);
\endif
\if :op = 15
SELECT id AS r4 FROM m4 WHERE id / 1000 = :client_id ORDER BY random() LIMIT 1 \gset
UPDATE m4 SET n = n + 10 WHERE id = :r4;
UPDATE m4 SET n = n + 100 WHERE id = :r4;
\endif
\if :op = 16
INSERT INTO m4 (id, big, n) VALUES (:t4, big_text(), 0) ON CONFLICT (id) DO UPDATE SET n = m4.n - 1;
\endif
\if :op = 17
DELETE FROM m4 WHERE id = (SELECT id FROM m4 WHERE id / 1000 = :client_id ORDER BY random() LIMIT 1) AND (SELECT count(*) FROM m4 WHERE id / 1000 = :client_id) > 3;
\endif
\if :op = 18
UPDATE m4 SET big = big_text() WHERE id = (SELECT id FROM m4 WHERE id / 1000 = :client_id ORDER BY random() LIMIT 1);
\endif
\if :op = 1
ROLLBACK;
\else
COMMIT;
\endif
EOF

# ---- snapshot, killed a few times ----------------------------------------------
for d in 0.15 0.3 0.5 0.8 1.2; do run_and_kill "$d"; done
echo "killed $kills times during the first runs (snapshot)" >&2
"$bin" sync --source "$dsn" --target "$lake" $tables --mode mirror --until-caught-up >>"$work/lakesync.log" 2>&1
rc=$?
expect "snapshot/exit" "$rc" 0
[ "$rc" = 0 ] || tail -20 "$work/lakesync.log" | sed 's/^/    /'

# ---- the workload, and kills ----------------------------------------------------
pgbench -n -f "$work/work.sql" -c 4 -j 2 -T "$WORK_SECONDS" --max-tries 20 >"$work/pgbench.log" 2>&1 &
pbpid=$!
(
	i=0
	while kill -0 "$pbpid" 2>/dev/null; do
		i=$((i + 1))
		lo=$((1000000 + i * 10000))
		# one transaction well over logical_decoding_work_mem: streamed in chunks
		lk_psql >>"$work/side.log" 2>&1 <<SQL
BEGIN;
INSERT INTO m1 (id, payload, n) SELECT $lo + g, repeat('b', 100), g FROM generate_series(1, 3000) g;
SAVEPOINT s;
UPDATE m1 SET payload = 'rolled back' WHERE id > $lo AND id <= $lo + 500;
UPDATE m4 SET n = -1 WHERE id % 2 = 0;
ROLLBACK TO s;
UPDATE m1 SET n = -n WHERE id > $lo AND id <= $lo + 1000;
UPDATE m1 SET n = n * 2 WHERE id > $lo + 500 AND id <= $lo + 1500;
DELETE FROM m1 WHERE id > $lo + 2900 AND id <= $lo + 3000;
UPDATE m1 SET id = id + 500000 WHERE id > $lo + 2000 AND id <= $lo + 2200;
UPDATE m1 SET n = n + 1 WHERE id > 5000000 + ($i * 997) % 19000 AND id <= 5000000 + ($i * 997) % 19000 + 1000;
DELETE FROM m1 WHERE id > 5000000 + ($i * 991) % 19000 AND id <= 5000000 + ($i * 991) % 19000 + 50;
UPDATE m4 SET big = big_text() WHERE id = (SELECT min(id) FROM m4 WHERE id / 1000 = $i % 4);
UPDATE m4 SET n = n + 1000 WHERE id / 1000 = $i % 4;
COMMIT;
BEGIN;
INSERT INTO m1 (id, payload, n) SELECT 3000000 + g, 'aborted', g FROM generate_series(1, 3000) g;
UPDATE m1 SET n = 0 WHERE id > 5000000;
ROLLBACK;
SQL
		case $i in
		2) lk_psql -c "TRUNCATE m2" >>"$work/side.log" 2>&1 && echo "truncated m2" >>"$work/side.log" ;;
		3) lk_psql >>"$work/side.log" 2>&1 <<'SQL' && echo "truncated m3" >>"$work/side.log" ;;
BEGIN;
TRUNCATE m3;
INSERT INTO m3 (x, y, z) SELECT c, 'dup', g % 5 FROM generate_series(1, 50) g, generate_series(0, 3) c;
COMMIT;
SQL
		esac
		sleep 1.5
	done
) &
bgpid=$!
while kill -0 "$pbpid" 2>/dev/null || [ "$kills" -lt "$KILLS" ]; do
	run_and_kill "$(rnd 0.3 2.5)"
done
wait "$pbpid"
pbrc=$?
pbpid=
wait "$bgpid"
bgpid=
expect "workload/pgbench" "$pbrc" 0
[ "$pbrc" = 0 ] || sed 's/^/    /' "$work/pgbench.log" | tail -20
if [ "$kills" -ge 20 ]; then pass "workload/kills ($kills)"; else failed "workload/kills ($kills < 20)"; fi
echo "pgbench: $(grep 'number of transactions actually processed' "$work/pgbench.log");" \
	"$(grep -E 'number of (failed|retried) transactions' "$work/pgbench.log" | tr '\n' ' ')" \
	"side transactions: $(grep -c ERROR "$work/side.log") errors;" \
	"killed runs: $(grep -c ': committed ' "$work/lakesync.log") Delta commits," \
	"$(grep -c 'confirmed flush lsn' "$work/lakesync.log") confirmations" >&2
expect "workload/truncates" "$(grep -c '^truncated m[23]$' "$work/side.log")" 2
[ "$(grep -c ERROR "$work/side.log")" = 0 ] && pass "workload/side transactions" ||
	failed "workload/side transactions ($(grep -m3 ERROR "$work/side.log" | tr '\n' ' '))"

# ---- catch up, check ---------------------------------------------------------------
"$bin" sync --source "$dsn" --target "$lake" $tables --mode mirror --until-caught-up >"$work/final.log" 2>&1
rc=$?
expect "final/exit" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/    /' "$work/final.log" | tail -30

for t in m1 m2 m3 m4; do
	key=id
	[ $t = m2 ] && key=a,b
	[ $t = m3 ] && key=-
	(cd "$root/tests/oracle" && node mirror_check.mjs compare "$name $t" "$lake/public/$t" "public.$t" "$key") \
		>"$work/check_$t.out" 2>&1
	cat "$work/check_$t.out"
	grep -q '^FAIL' "$work/check_$t.out" && fail=1
	grep -q '^\(PASS\|FAIL\) ' "$work/check_$t.out" || failed "$t/oracle (no PASS line: $(head -c 300 "$work/check_$t.out"))"
done
if [ $fail -ne 0 ]; then
	echo "    lakesync log (last 40 lines):"
	tail -40 "$work/lakesync.log" | sed 's/^/    /'
fi
exit $fail
