#!/usr/bin/env bash
# sync_kill.sh — exactly once under crashes: a random concurrent workload
# while `lakesync sync` is killed with SIGKILL at random moments (at least
# 20 times: during the snapshot, while streaming, while committing) and
# restarted; then one last run --until-caught-up.
#
# Workload (PostgreSQL 15, logical_decoding_work_mem = 64kB): pgbench with 4
# clients running a custom script — multi-statement transactions with
# savepoints rolled back, whole transactions rolled back, upserts, deletes,
# primary-key changes, a composite key — plus, on the side, transactions of
# thousands of rows (streamed in chunks) with a rolled-back savepoint, an
# aborted big transaction, a TRUNCATE.  Every row carries `ver`, a fresh
# value of one sequence at each insert/update (trigger), and an audit table
# (not published) records every committed event (kind, key, ver).
#
# Checks (DuckDB, tests/oracle/sync_check.mjs), per table:
#   replay   the history replayed in (_commit_lsn, _change_seq) order equals
#            the table, every column
#   events   the history's events after the snapshot — (insert|update|
#            delete|truncate, key, ver) — equal the audit as a multiset: no
#            change twice, none missing, none from a rolled-back
#            (sub)transaction
#   order    (_commit_lsn, _change_seq) is unique
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  KILLS (default 24) and
# WORK_SECONDS (default 40) tune the run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_kill
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
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
if ! pg_start "logical_decoding_work_mem = 64kB" "wal_sender_timeout = 10s"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-kill.XXXXXX")
chmod 755 "$work"
lspid=
bgpid=
cleanup() {
	[ -n "$lspid" ] && kill -9 "$lspid" 2>/dev/null
	[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
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
tables="--table public.w1 --table public.w2 --table public.w3 --table public.w4"
kills=0
# start lakesync in the background; kill -9 it after $1 seconds
run_and_kill() {
	LAKESYNC_LOG=debug LAKESYNC_SPILL_MEM=32k "$bin" sync --source "$dsn" --target "$lake" $tables --jobs 2 \
		--flush-interval-ms $((50 + RANDOM % 900)) >>"$work/lakesync.log" 2>&1 &
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
CREATE TABLE audit (tbl text, kind text, k text, ver bigint);
CREATE FUNCTION set_ver() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.ver := nextval('vseq'); RETURN NEW; END $$;
CREATE FUNCTION log_ev() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE j jsonb;
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		INSERT INTO audit VALUES (TG_TABLE_NAME, 'truncate', NULL, NULL);
		RETURN NULL;
	END IF;
	j := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
	INSERT INTO audit VALUES (TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 'insert'
		WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
		CASE WHEN TG_TABLE_NAME = 'w3' THEN (j->>'a') || ',' || (j->>'b') ELSE j->>'id' END,
		CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE (j->>'ver')::bigint END);
	RETURN NULL;
END $$;
CREATE TABLE w1 (id int PRIMARY KEY, ver bigint, payload text, n int);
CREATE TABLE w2 (id int PRIMARY KEY, ver bigint, n int, t text);
CREATE TABLE w3 (a int, b int, ver bigint, v int, PRIMARY KEY (a, b));
CREATE TABLE w4 (id int PRIMARY KEY, ver bigint, big text, n int);
ALTER TABLE w4 REPLICA IDENTITY FULL;
DO $$ DECLARE t text; BEGIN
	FOREACH t IN ARRAY ARRAY['w1', 'w2', 'w3', 'w4'] LOOP
		EXECUTE format('CREATE TRIGGER v BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_ver()', t);
		EXECUTE format('CREATE TRIGGER a AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION log_ev()', t);
		EXECUTE format('CREATE TRIGGER t AFTER TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION log_ev()', t);
	END LOOP;
END $$;
INSERT INTO w1 (id, payload, n) SELECT c * 100000 + g, md5(g::text), g FROM generate_series(1, 400) g, generate_series(0, 3) c;
INSERT INTO w2 (id, n, t) SELECT c * 100000 + g, g, 'x' FROM generate_series(1, 400) g, generate_series(0, 3) c;
INSERT INTO w2 (id, n, t) SELECT 5000000 + g, g, repeat('p', 200) FROM generate_series(1, 30000) g;
INSERT INTO w3 (a, b, v) SELECT c, g, g FROM generate_series(1, 400) g, generate_series(0, 3) c;
INSERT INTO w4 (id, big, n) SELECT g, (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 200) i), g
FROM generate_series(1, 20) g;
SQL

cat >"$work/work.sql" <<'EOF'
\set base :client_id * 100000
\set k random(1, 500)
\set id :base + :k
\set id2 :base + random(1, 500)
\set op random(1, 20)
BEGIN;
INSERT INTO w1 (id, payload, n) VALUES (:id, md5(random()::text), :op) ON CONFLICT (id) DO UPDATE SET n = w1.n + 1, payload = EXCLUDED.payload;
SAVEPOINT s1;
UPDATE w2 SET n = n + 1, t = md5(random()::text) WHERE id = :id2;
INSERT INTO w2 (id, n, t) VALUES (:id2, 0, 'new') ON CONFLICT DO NOTHING;
\if :op > 15
ROLLBACK TO SAVEPOINT s1;
\endif
\if :op = 3
DELETE FROM w1 WHERE id = :id2;
\endif
\if :op = 4
UPDATE w1 SET id = id + 50000 WHERE id = :id AND NOT EXISTS (SELECT 1 FROM w1 WHERE id = :id + 50000);
\endif
SAVEPOINT s2;
INSERT INTO w3 (a, b, v) VALUES (:client_id, :k, :op) ON CONFLICT (a, b) DO UPDATE SET v = w3.v + EXCLUDED.v;
\if :op = 5
DELETE FROM w3 WHERE a = :client_id AND b = :k;
\endif
\if :op = 6
UPDATE w3 SET b = b + 1000 WHERE a = :client_id AND b = :k AND NOT EXISTS (SELECT 1 FROM w3 WHERE a = :client_id AND b = :k + 1000);
\endif
\if :op = 7
ROLLBACK TO SAVEPOINT s2;
\endif
\if :op = 8
UPDATE w4 SET n = n + 1 WHERE id = 1 + :k % 20;
\endif
\if :op = 1
ROLLBACK;
\else
COMMIT;
\endif
EOF

# ---- snapshot, killed a few times ----------------------------------------------
for d in 0.15 0.3 0.5 0.8; do run_and_kill "$d"; done
echo "killed $kills times during the first runs (snapshot)" >&2
sql "TRUNCATE audit" >/dev/null   # events from here on; the snapshot holds the rest
"$bin" sync --source "$dsn" --target "$lake" $tables --until-caught-up >>"$work/lakesync.log" 2>&1
expect "snapshot/exit" "$?" 0

# ---- the workload, and kills ----------------------------------------------------
pgbench -n -f "$work/work.sql" -c 4 -j 2 -T "$WORK_SECONDS" >"$work/pgbench.log" 2>&1 &
pbpid=$!
(
	i=0
	while kill -0 "$pbpid" 2>/dev/null; do
		i=$((i + 1))
		lk_psql >/dev/null 2>&1 <<SQL
BEGIN;
INSERT INTO w2 (id, n, t) SELECT 1000000 + $i * 10000 + g, g, repeat('b', 100) FROM generate_series(1, 3000) g;
SAVEPOINT s;
UPDATE w2 SET t = 'rolled back' WHERE id > 1000000 AND id <= 1000000 + $i * 10000 + 500;
ROLLBACK TO s;
UPDATE w2 SET n = -n WHERE id > 1000000 + $i * 10000 AND id <= 1000000 + $i * 10000 + 1000;
DELETE FROM w2 WHERE id > 1000000 + $i * 10000 + 2900 AND id <= 1000000 + $i * 10000 + 3000;
COMMIT;
BEGIN;
INSERT INTO w2 (id, n, t) SELECT 2000000 + g, g, 'aborted' FROM generate_series(1, 3000) g;
ROLLBACK;
SQL
		[ "$i" = 3 ] && lk_psql -c "TRUNCATE w3" >/dev/null 2>&1
		sleep 2
	done
) &
bgpid=$!
while kill -0 "$pbpid" 2>/dev/null || [ "$kills" -lt "$KILLS" ]; do
	run_and_kill "$(rnd 0.3 2.5)"
done
wait "$pbpid"
pbrc=$?
wait "$bgpid"
bgpid=
expect "workload/pgbench" "$pbrc" 0
[ "$pbrc" = 0 ] || sed 's/^/    /' "$work/pgbench.log" | tail -20
if [ "$kills" -ge 20 ]; then pass "workload/kills ($kills)"; else failed "workload/kills ($kills < 20)"; fi
echo "pgbench: $(grep 'number of transactions actually processed' "$work/pgbench.log");" \
	"killed runs: $(grep -c ': committed ' "$work/lakesync.log") Delta commits," \
	"$(grep -c 'confirmed flush lsn' "$work/lakesync.log") confirmations," \
	"$(grep -c 'reconnecting' "$work/lakesync.log") reconnects" >&2

# ---- catch up, check ---------------------------------------------------------------
"$bin" sync --source "$dsn" --target "$lake" $tables --until-caught-up >"$work/final.log" 2>&1
rc=$?
expect "final/exit" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/    /' "$work/final.log"

sql "COPY audit TO STDOUT WITH (FORMAT csv)" >"$work/audit.csv"
expect "workload/audit" "$([ "$(wc -l <"$work/audit.csv")" -gt 1000 ] && echo many)" many
for t in w1 w2 w3 w4; do
	key=id
	kexpr="CAST(id AS VARCHAR)"
	if [ $t = w3 ]; then key=a,b; kexpr="CAST(a AS VARCHAR) || ',' || CAST(b AS VARCHAR)"; fi
	(cd "$root/tests/oracle" && node sync_check.mjs compare "$name replay/$t" "$lake/public/${t}_history" "public.$t" "$key") || fail=1
	ev="SELECT CASE _change_type WHEN 'update_postimage' THEN 'update' ELSE _change_type END AS kind,
		CASE WHEN _change_type = 'truncate' THEN NULL ELSE $kexpr END AS k,
		CASE WHEN _change_type IN ('delete', 'truncate') THEN NULL ELSE ver END AS ver
		FROM h WHERE _xid IS NOT NULL AND _change_type <> 'update_preimage'"
	au="SELECT kind, k, ver FROM read_csv('$work/audit.csv', header=false, all_varchar=false,
		columns={'tbl': 'VARCHAR', 'kind': 'VARCHAR', 'k': 'VARCHAR', 'ver': 'BIGINT'}) WHERE tbl = '$t'"
	got=$(cd "$root/tests/oracle" && node sync_check.mjs sql "h=$lake/public/${t}_history" \
		"SELECT (SELECT count(*) FROM ($ev)), (SELECT count(*) FROM ($au)),
		        (SELECT count(*) FROM ($ev EXCEPT ALL $au)), (SELECT count(*) FROM ($au EXCEPT ALL $ev))" 2>&1)
	n=$(sed -n 's/^\[\["\([0-9]*\)","\([0-9]*\)","0","0"\]\]$/\1 \2/p' <<<"$got")
	if [ -n "$n" ] && [ "${n% *}" = "${n#* }" ]; then
		pass "events/$t (${n% *} events)"
	else
		failed "events/$t (history events, audit events, only in history, only in audit: $got)"
	fi
	expect "order/$t" "$(cd "$root/tests/oracle" && node sync_check.mjs sql "h=$lake/public/${t}_history" \
		"SELECT count(*) FROM (SELECT _commit_lsn, _change_seq FROM h GROUP BY ALL HAVING count(*) > 1)")" '[["0"]]'
done
if [ $fail -ne 0 ]; then
	echo "    lakesync log (last 40 lines):"
	tail -40 "$work/lakesync.log" | sed 's/^/    /'
fi
exit $fail
