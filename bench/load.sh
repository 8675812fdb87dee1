#!/usr/bin/env bash
# bench/load.sh — the synced-table snapshot load of a Delta table into
# PostgreSQL, against (a) COPY FROM a local file of the same rows and (b) a
# DuckDB read_parquet → CSV → COPY pipeline, printed as ratios in one run.
# Numbers only: nothing passes or fails on time.
#
#   bench/load.sh                    10,000,000 rows, --jobs 1 and 2
#   bench/load.sh --rows 1000000 --jobs "1 2 4" --keep
#
# Setup (untimed): a throwaway PostgreSQL 15 (tests/integration/lib.sh;
# fsync off, shared_buffers 512MB, max_wal_size 8GB); build/bench/load gen
# writes the Delta table (bench/parquet.c's table: 9 columns, ~230 bytes of
# text per row, 10% nulls; zstd, 1 Mi-row row groups, 4 files); load text
# writes the same rows as COPY text (the bytes lakesync sends).
#
# Timed, each on an empty database table, after a CHECKPOINT:
#   copy_file     COPY base FROM '<file>' (server side, text format), then
#                 ANALYZE (shown separately)
#   lakesync -jN  `lakesync synced-table --mode snapshot --jobs N` (whole
#                 process: plan, N connections COPYing row groups into the
#                 shadow table, ANALYZE, the swap transaction); no primary key
#   duckdb        node bench/load_duckdb.mjs (DuckDB COPY (read_parquet) TO
#                 CSV, whole process) + COPY duck FROM '<csv>' (FORMAT csv) +
#                 ANALYZE
# Each loaded table's fingerprint (count and sum of hashtext of every row's
# text) is compared with copy_file's, so the loads are known to be equal.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rows=10000000
jobs="1 2"
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--rows) rows=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: bench/load.sh [--rows N] [--jobs \"1 2\"] [--keep]" >&2; exit 2 ;;
	esac
done
. "$root/tests/integration/lib.sh"
bin=$root/build/lakesync
gen=$root/build/bench/load
(cd "$root" && make -s build/lakesync build/bench/load) || exit 1
pg_start "shared_buffers = 512MB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
	"maintenance_work_mem = 256MB" || { echo "bench/load: no PostgreSQL" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-bench-load.XXXXXX")
chmod 755 "$work"
cleanup() {
	pg_stop
	if [ $keep = 1 ]; then echo "bench/load: files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }
sql() { lk_psql -At -c "$1"; }
fingerprint() { sql "SELECT count(*) || ' ' || sum(hashtext(t::text)::bigint) FROM $1 t"; }

echo "bench/load: $rows rows, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
t0=$(now)
"$gen" gen --rows "$rows" --out "$work/delta" >/dev/null || exit 1
"$gen" text --table "$work/delta" --out "$work/rows.txt" >/dev/null || exit 1
chmod 644 "$work/rows.txt"
echo "bench/load: data ready in $(elapsed "$t0" "$(now)") s: Delta $(du -sh "$work/delta" | cut -f1)," \
	"COPY text $(du -sh "$work/rows.txt" | cut -f1)" >&2
ddl=$("$gen" ddl --table "$work/delta" --name public.base)

declare -A T
# (a) COPY FROM a local file
sql "$ddl" >/dev/null; sql "CHECKPOINT" >/dev/null
t0=$(now); sql "COPY base FROM '$work/rows.txt'" >/dev/null; t1=$(now)
sql "ANALYZE base" >/dev/null; t2=$(now)
T[copy]=$(elapsed "$t0" "$t1"); T[copy_analyze]=$(elapsed "$t0" "$t2")
want=$(fingerprint base)

# lakesync snapshot loads
for j in $jobs; do
	sql "CHECKPOINT" >/dev/null
	t0=$(now)
	"$bin" synced-table --source "$work/delta" --target "$dsn" --table "public.ls$j" \
		--mode snapshot --jobs "$j" >"$work/ls$j.log" 2>&1 || { cat "$work/ls$j.log"; exit 1; }
	T[ls$j]=$(elapsed "$t0" "$(now)")
	got=$(fingerprint "ls$j")
	[ "$got" = "$want" ] || echo "bench/load: WARNING lakesync -j$j table differs from COPY's ($got vs $want)" >&2
	sql "DROP TABLE ls$j" >/dev/null
done

# (b) DuckDB read_parquet → CSV → COPY
sql "CREATE TABLE duck (LIKE base)" >/dev/null; sql "CHECKPOINT" >/dev/null
t0=$(now)
node "$here/load_duckdb.mjs" "$work/delta" "$work/duck.csv" >"$work/duck.json" || exit 1
t1=$(now)
chmod 644 "$work/duck.csv"
sql "COPY duck FROM '$work/duck.csv' (FORMAT csv)" >/dev/null
sql "ANALYZE duck" >/dev/null
t2=$(now)
T[duck_export]=$(elapsed "$t0" "$t1"); T[duck]=$(elapsed "$t0" "$t2")
got=$(fingerprint duck)
[ "$got" = "$want" ] || echo "bench/load: WARNING DuckDB pipeline table differs from COPY's ($got vs $want)" >&2

ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
printf '\n%-44s %9s %12s %14s\n' "load of $rows rows" seconds "vs COPY" "vs DuckDB pipe"
printf '%-44s %9s %12s %14s\n' "COPY FROM local file (text)" "${T[copy]}" 1.00 "$(ratio "${T[copy]}" "${T[duck]}")"
printf '%-44s %9s %12s %14s\n' "  + ANALYZE" "${T[copy_analyze]}" "$(ratio "${T[copy_analyze]}" "${T[copy]}")" \
	"$(ratio "${T[copy_analyze]}" "${T[duck]}")"
for j in $jobs; do
	printf '%-44s %9s %12s %14s\n' "lakesync synced-table snapshot --jobs $j" "${T[ls$j]}" \
		"$(ratio "${T[ls$j]}" "${T[copy]}")" "$(ratio "${T[ls$j]}" "${T[duck]}")"
done
printf '%-44s %9s %12s %14s\n' "DuckDB read_parquet→CSV (${T[duck_export]} s) → COPY" "${T[duck]}" \
	"$(ratio "${T[duck]}" "${T[copy]}")" 1.00
echo "(lakesync includes ANALYZE and the swap; the goal is ≤ 1.2× COPY FROM a file)"
