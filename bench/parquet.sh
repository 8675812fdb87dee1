#!/usr/bin/env bash
# bench/parquet.sh — lakesync's Parquet writer and reader vs DuckDB on a
# generated table (default 10,000,000 rows of mixed types, 10% nulls):
# write time (zstd) and peak memory vs DuckDB's COPY … TO (FORMAT parquet,
# COMPRESSION zstd), and read time vs DuckDB's read_parquet into a sink, as
# ratios, single-threaded and with all cores. See bench/README.md.
#   bench/parquet.sh [--rows N] [--threads T] [--keep]
# Needs node and tests/oracle/node_modules (DuckDB). Timings are printed,
# never judged: this is not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=10000000
threads=$(nproc)
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--rows) rows=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "bench/parquet.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
make -s -j2 build/bench/parquet >&2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-bench.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$tmp"' EXIT
echo "bench/parquet: $rows rows, threads 1 and $threads, files in $tmp" >&2
node bench/parquet_run.mjs --bin build/bench/parquet --rows "$rows" --threads "$threads" --tmp "$tmp"
