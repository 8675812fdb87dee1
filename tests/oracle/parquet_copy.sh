#!/usr/bin/env bash
# parquet_copy.sh — lakesync's Parquet reader and writer against DuckDB:
# every testdata file and a generated codec × page version × dictionary ×
# every-logical-type matrix is copied by `lakesync parquet copy` and must
# read back in DuckDB as exactly the same rows; `cat` text is checked against
# DuckDB's values; malformed files must fail cleanly. The work is in
# copy_conformance.mjs (one DuckDB for the whole run); see its header.
# Prints PASS/FAIL/SKIP lines (tests/run-all.sh); exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export LAKESYNC_BIN=${LAKESYNC_BIN:-$root/build/lakesync}
export LAKESYNC_TESTDATA=${LAKESYNC_TESTDATA:-$root/../shared/testdata}
if ! command -v node >/dev/null; then
	echo "SKIP parquet_copy: node is not installed"; exit 0
fi
if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
	echo "SKIP parquet_copy: DuckDB (tests/oracle/node_modules) is not installed"; exit 0
fi
exec node "$here/copy_conformance.mjs"
