#!/usr/bin/env bash
# Our Parquet writer vs DuckDB: the writer_oracle/files test of
# $BUILD/tests/test_writer writes Parquet files (every type, nested shapes,
# every codec, v1/v2 pages, dictionary on/off/fallback, tiny pages, several
# row groups) and the expected rows next to each; tests/oracle/writer_check.mjs
# has DuckDB read every file and compare rows and statistics.
# PASS/FAIL/SKIP lines; exit 0 iff no FAIL.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$BUILD/tests/test_writer
if [ ! -d tests/oracle/node_modules/@duckdb/node-api ]; then
	echo "SKIP writer-oracle: tests/oracle/node_modules missing (npm ci in tests/oracle)"; exit 0
fi
if [ ! -x "$bin" ]; then
	make -s "$bin" >/dev/null 2>&1 || { echo "FAIL writer-oracle: cannot build $bin"; exit 1; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-writer-oracle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! LAKESYNC_WRITER_OUT="$tmp/files" "$bin" --filter 'writer_oracle/files' >"$tmp/log" 2>&1; then
	echo "FAIL writer-oracle: $bin --filter writer_oracle/files failed"
	cat "$tmp/log"
	exit 1
fi
node tests/oracle/writer_check.mjs "$tmp/files"
