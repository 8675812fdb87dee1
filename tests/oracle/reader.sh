#!/usr/bin/env bash
# Our Parquet reader vs DuckDB on every file of $LAKESYNC_TESTDATA/parquet/data
# and every Parquet file under $LAKESYNC_TESTDATA/delta-golden (written by
# Spark, delta-rs, ...; see reader_compare.mjs). PASS/FAIL/SKIP per file;
# exit 0 iff no FAIL.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TD=${LAKESYNC_TESTDATA:-$PWD/../shared/testdata}
bin=$BUILD/tests/test_reader
if [ ! -d "$TD/parquet/data" ]; then
	echo "SKIP reader-oracle: no test data in $TD/parquet/data"; exit 0
fi
if [ ! -d tests/oracle/node_modules/@duckdb/node-api ]; then
	echo "SKIP reader-oracle: tests/oracle/node_modules missing (npm ci in tests/oracle)"; exit 0
fi
if [ ! -x "$bin" ]; then
	make -s "$bin" >/dev/null 2>&1 || { echo "FAIL reader-oracle: cannot build $bin"; exit 1; }
fi
dirs=("$TD/parquet/data")
[ -d "$TD/delta-golden" ] && dirs+=("$TD/delta-golden")
exec node tests/oracle/reader_compare.mjs "$PWD/$bin" "${dirs[@]}"
