#!/usr/bin/env bash
# mirror_synced.sh — issue 6's last done-when: PostgreSQL table → mirror
# Delta table → synced table in a second database, equal after a random
# workload; and the end-to-end latency (commit in db1 → row visible in db2).
#
# One throwaway cluster (track_commit_timestamp on), two databases:
#   db1 (postgres)  s1 (id int PK; text, numeric(12,2), timestamptz, boolean,
#                   double precision, a NULL now and then), s2 (PRIMARY KEY
#                   (a int, b text)), marks (id int PK, markers)
#   lake            `lakesync sync --mode mirror` running continuously
#                   (defaults: flush interval 1000 ms, early commit once
#                   drained), after a first --until-caught-up snapshot
#   db2             one `lakesync synced-table --mode continuous` per table
#                   (default poll interval 1000 ms; POLL_MS overrides)
# Workload (WORK_SECONDS, default 30): pgbench, 2 clients throttled to RATE
# transactions/s (default 100): upserts, updates, deletes, key changes (int
# and text key), rolled-back savepoints and transactions, two changes to one
# row in a transaction; a TRUNCATE of s2 half way; a marker row into marks
# every 0.5 s.  Then one sentinel transaction per table; once db2 has the
# sentinels, every earlier change is applied (versions apply in order).
#
# Checks (PASS/FAIL):
#   equal/<t>     db2's table == db1's: same column names in order, and
#                 COPY (SELECT * … ORDER BY key) TO STDOUT text identical
#                 (pinned session settings), row counts printed
#   mirror/<t>    the mirror Delta table == db1 (tests/oracle/mirror_check.mjs:
#                 scan, independent replay with DVs, DuckDB count, CDF replay)
#   latency       every marker became visible in db2
# Informational (never pass/fail): latency p50/p90/p99/max over the markers:
#   commit time in db1 (pg_xact_commit_timestamp) → the first poll that saw
#   the row in db2 (a procedure in db2 polling every 10 ms, clock_timestamp;
#   same machine clock).
# Exits 0 iff no FAIL.  KEEP_WORK=1 keeps the work directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=mirror_synced
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
export LAKESYNC_BIN=$bin
WORK_SECONDS=${WORK_SECONDS:-30}
RATE=${RATE:-100}
POLL_MS=${POLL_MS:-1000}
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
if ! pg_start "track_commit_timestamp = on" "wal_sender_timeout = 10s"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-msynced.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	pg_stop
	[ "${KEEP_WORK:-0}" = 1 ] && echo "work dir $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
lake="$work/lake"
dsn1="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
dsn2="host=$PGHOST port=$PGPORT user=$PGUSER dbname=db2"
fail=0
pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
sql1() { lk_psql -d postgres -tA -c "$1"; }
sql2() { lk_psql -d db2 -tA -c "$1"; }
tables="s1 s2 marks"
keyof() { case $1 in s2) echo a,b ;; *) echo id ;; esac; }

lk_psql -d postgres <<'SQL' || { echo "FAIL $name setup"; exit 1; }
CREATE SEQUENCE vseq;
CREATE FUNCTION set_ver() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.ver := nextval('vseq'); RETURN NEW; END $$;
CREATE TABLE s1 (id int PRIMARY KEY, ver bigint, name text, amount numeric(12,2),
	ts timestamptz, flag boolean, score double precision);
CREATE TABLE s2 (a int, b text, ver bigint, v int, PRIMARY KEY (a, b));
CREATE TABLE marks (id int PRIMARY KEY, note text);
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON s1 FOR EACH ROW EXECUTE FUNCTION set_ver();
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON s2 FOR EACH ROW EXECUTE FUNCTION set_ver();
INSERT INTO s1 (id, name, amount, ts, flag, score)
SELECT c * 100000 + g, CASE WHEN g % 17 = 0 THEN NULL ELSE md5(g::text) END, g / 7.0,
	'2024-01-01 00:00:00+00'::timestamptz + g * interval '1.5 second', g % 3 = 0, g / 3.0
FROM generate_series(1, 2000) g, generate_series(0, 1) c;
INSERT INTO s2 (a, b, v) SELECT c, 'k' || g, g FROM generate_series(1, 500) g, generate_series(0, 1) c;
INSERT INTO marks VALUES (0, 'start');
CREATE DATABASE db2;
SQL

# ---- db1 → mirror: snapshot, then continuous ---------------------------------------
synctables="--table public.s1 --table public.s2 --table public.marks"
if ! "$bin" sync --source "$dsn1" --target "$lake" $synctables --mode mirror --until-caught-up \
		>"$work/sync_first.log" 2>&1; then
	failed "mirror/snapshot (exit $?)"
	tail -20 "$work/sync_first.log" | sed 's/^/    /'
	exit 1
fi
pass "mirror/snapshot"
LAKESYNC_LOG=info "$bin" sync --source "$dsn1" --target "$lake" $synctables --mode mirror \
	>"$work/sync.log" 2>&1 &
pids+=($!)
syncpid=$!

# ---- mirror → db2: one continuous synced table each ------------------------------
for t in $tables; do
	"$bin" synced-table --source "$lake/public/$t" --target "$dsn2" --table "public.$t" \
		--mode continuous --primary-key "$(keyof $t)" --interval-ms "$POLL_MS" -v \
		>"$work/synced_$t.log" 2>&1 &
	pids+=($!)
done
ready=0
for i in $(seq 1 600); do
	n=$(sql2 "SELECT count(*) FROM lakesync.synced_tables" 2>/dev/null)
	[ "${n:-0}" = 3 ] && { ready=1; break; }
	sleep 0.1
done
if [ $ready = 1 ]; then pass "synced/snapshot (3 tables loaded in db2)"; else
	failed "synced/snapshot (db2 has ${n:-no} state rows after 60 s)"
	for t in $tables; do tail -5 "$work/synced_$t.log" | sed "s/^/    $t: /"; done
	exit 1
fi

# the watcher in db2: notes when each marker first becomes visible
lk_psql -d db2 <<'SQL' || failed "watcher setup"
CREATE TABLE seen (id int PRIMARY KEY, ts timestamptz);
CREATE PROCEDURE watch(last int, timeout_s int) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	LOOP
		INSERT INTO seen SELECT m.id, clock_timestamp() FROM marks m
			WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.id = m.id);
		COMMIT;
		EXIT WHEN EXISTS (SELECT 1 FROM seen WHERE id = last)
			OR clock_timestamp() > t0 + make_interval(secs => timeout_s);
		PERFORM pg_sleep(0.01);
	END LOOP;
END $$;
SQL

cat >"$work/work.sql" <<'EOF'
\set base :client_id * 100000
\set k random(1, 2200)
\set id :base + :k
\set id2 :base + random(1, 2200)
\set op random(1, 20)
BEGIN;
INSERT INTO s1 (id, name, amount, ts, flag, score) VALUES (:id, md5(random()::text), random() * 1000, now(), random() < 0.5, random())
	ON CONFLICT (id) DO UPDATE SET amount = s1.amount + 1, score = EXCLUDED.score, flag = NOT s1.flag;
SAVEPOINT s;
UPDATE s1 SET name = NULL, ts = ts + interval '1 day' WHERE id = :id2;
INSERT INTO s2 (a, b, v) VALUES (:client_id, 'k' || :k % 600, :op) ON CONFLICT (a, b) DO UPDATE SET v = s2.v + 1;
\if :op > 17
ROLLBACK TO SAVEPOINT s;
\endif
\if :op = 3
DELETE FROM s1 WHERE id = :id2;
\endif
\if :op = 4
UPDATE s1 SET id = id + 50000 WHERE id = :id AND NOT EXISTS (SELECT 1 FROM s1 WHERE id = :id + 50000);
\endif
\if :op = 5
DELETE FROM s2 WHERE a = :client_id AND b = 'k' || :k % 600;
\endif
\if :op = 6
UPDATE s2 SET b = b || 'x' WHERE a = :client_id AND b = 'k' || :k % 600 AND NOT EXISTS (SELECT 1 FROM s2 WHERE a = :client_id AND b = 'k' || :k % 600 || 'x');
\endif
\if :op = 7
UPDATE s1 SET score = score + 1 WHERE id = :id;
UPDATE s1 SET score = -score, name = 'twice' WHERE id = :id;
\endif
\if :op = 1
ROLLBACK;
\else
COMMIT;
\endif
EOF

# ---- the workload, markers ------------------------------------------------------------
nmarks=$(awk -v s="$WORK_SECONDS" 'BEGIN { printf "%d", s * 2 }')
lk_psql -d db2 -c "CALL watch($nmarks, $((WORK_SECONDS + 120)))" >"$work/watch.log" 2>&1 &
watchpid=$!
pgbench -n -f "$work/work.sql" -c 2 -j 2 -R "$RATE" -T "$WORK_SECONDS" --max-tries 20 \
	>"$work/pgbench.log" 2>&1 &
pbpid=$!
for i in $(seq 1 "$nmarks"); do
	sql1 "INSERT INTO marks VALUES ($i, 'marker')" >/dev/null
	[ "$i" = $((nmarks / 2)) ] && sql1 "TRUNCATE s2" >/dev/null
	sleep 0.5
done
wait "$pbpid"
pbrc=$?
[ "$pbrc" = 0 ] && pass "workload/pgbench ($(sed -n 's/number of transactions actually processed: //p' "$work/pgbench.log") transactions)" ||
	{ failed "workload/pgbench (exit $pbrc)"; tail -20 "$work/pgbench.log" | sed 's/^/    /'; }

# sentinels, then wait until db2 has them (120 s at most)
sql1 "INSERT INTO s1 (id, name) VALUES (999999, 'sentinel') ON CONFLICT (id) DO UPDATE SET name = 'sentinel'" >/dev/null
sql1 "INSERT INTO s2 (a, b, v) VALUES (99, 'sentinel', 0)" >/dev/null
sql1 "INSERT INTO marks VALUES (999999, 'sentinel')" >/dev/null
caught=0
for i in $(seq 1 1200); do
	if [ "$(sql2 "SELECT (SELECT count(*) FROM s1 WHERE id = 999999 AND name = 'sentinel')
		+ (SELECT count(*) FROM s2 WHERE a = 99) + (SELECT count(*) FROM marks WHERE id = 999999)" 2>/dev/null)" = 3 ]; then
		caught=1
		break
	fi
	sleep 0.1
done
[ $caught = 1 ] && pass "caught-up (the sentinels reached db2)" || failed "caught-up (no sentinels in db2 after 120 s)"
wait "$watchpid"

# ---- equality ---------------------------------------------------------------------------
for t in $tables; do
	key=$(keyof $t)
	c1=$(sql1 "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.$t'::regclass AND attnum > 0 AND NOT attisdropped")
	c2=$(sql2 "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.$t'::regclass AND attnum > 0 AND NOT attisdropped")
	lk_psql -d postgres -c "COPY (SELECT * FROM public.$t ORDER BY $key) TO STDOUT" >"$work/$t.db1"
	lk_psql -d db2 -c "COPY (SELECT * FROM public.$t ORDER BY $key) TO STDOUT" >"$work/$t.db2"
	if [ "$c1" = "$c2" ] && cmp -s "$work/$t.db1" "$work/$t.db2"; then
		pass "equal/$t ($(wc -l <"$work/$t.db1") rows, columns $c1)"
	else
		failed "equal/$t (columns db1 '$c1', db2 '$c2'; rows $(wc -l <"$work/$t.db1") vs $(wc -l <"$work/$t.db2"))"
		diff "$work/$t.db1" "$work/$t.db2" | head -10 | cut -c1-200 | sed 's/^/    /'
	fi
done
for t in $tables; do
	(cd "$root/tests/oracle" && node mirror_check.mjs compare "$name mirror/$t" "$lake/public/$t" "public.$t" "$(keyof $t)") \
		>"$work/check_$t.out" 2>&1
	cat "$work/check_$t.out"
	grep -q '^FAIL' "$work/check_$t.out" && fail=1
	grep -q '^\(PASS\|FAIL\) ' "$work/check_$t.out" || failed "mirror/$t/oracle (no PASS line: $(head -c 300 "$work/check_$t.out"))"
done

# ---- latency ----------------------------------------------------------------------------
lk_psql -d postgres -tA -F ' ' -c "SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM marks
	WHERE id BETWEEN 1 AND $nmarks ORDER BY id" >"$work/commit.txt"
lk_psql -d db2 -tA -F ' ' -c "SELECT id, extract(epoch FROM ts) FROM seen WHERE id BETWEEN 1 AND $nmarks ORDER BY id" >"$work/seen.txt"
lat=$(join "$work/commit.txt" "$work/seen.txt" | awk '{ printf "%.0f\n", ($3 - $2) * 1000 }' | sort -n)
nlat=$(grep -c . <<<"$lat")
pct() { awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print a[i] }' <<<"$lat"; }
if [ "$nlat" = "$nmarks" ]; then pass "latency (all $nmarks markers visible in db2; p50 $(pct 50) ms, p99 $(pct 99) ms: informational)"; else
	failed "latency (only $nlat of $nmarks markers seen in db2)"; fi
if [ "$nlat" -gt 0 ]; then
	echo "$name: end-to-end latency db1 commit → visible in db2 over $nlat markers:" \
		"p50 $(pct 50) ms, p90 $(pct 90) ms, p99 $(pct 99) ms, max $(pct 100) ms" \
		"(goal p50 ≤ 2000 ms; mirror flush default, synced poll $POLL_MS ms, pgbench $RATE tps;" \
		"load average $(cut -d' ' -f1-3 /proc/loadavg))"
fi

kill -TERM "$syncpid" 2>/dev/null
if [ $fail -ne 0 ]; then
	echo "    lakesync sync log (last 20 lines):"
	tail -20 "$work/sync.log" | sed 's/^/    /'
	for t in $tables; do tail -5 "$work/synced_$t.log" | sed "s/^/    synced $t: /"; done
fi
exit $fail
