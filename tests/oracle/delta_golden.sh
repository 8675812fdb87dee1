#!/usr/bin/env bash
# delta_golden.sh — the Delta read side against $LAKESYNC_TESTDATA/delta-golden
# (the "done when" of "Delta Lake: read any table"): every case with
# expected/ is scanned with `lakesync delta scan --output` and compared with
# DuckDB; malformed cases must fail with the error each one deserves; time
# travel, log replay and the Change Data Feed are checked against what the
# logs say.  The work is in delta_golden.mjs (one DuckDB for the run).
# Prints PASS/FAIL/SKIP lines (tests/run-all.sh); exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export LAKESYNC_BIN=${LAKESYNC_BIN:-$root/build/lakesync}
export LAKESYNC_TESTDATA=${LAKESYNC_TESTDATA:-$root/../shared/testdata}
if [ ! -d "$LAKESYNC_TESTDATA/delta-golden" ]; then
	echo "SKIP delta_golden: no $LAKESYNC_TESTDATA/delta-golden"; exit 0
fi
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
	echo "SKIP delta_golden: node or DuckDB (tests/oracle/node_modules) is not installed"; exit 0
fi
if [ ! -x "$LAKESYNC_BIN" ]; then
	echo "FAIL delta_golden: $LAKESYNC_BIN does not exist (make first)"; exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-delta-golden.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
# one consistent binary for the whole run (the shared tree may relink it)
cp "$LAKESYNC_BIN" "$tmp/lakesync" && "$tmp/lakesync" --version >/dev/null || {
	echo "FAIL delta_golden: could not copy and run $LAKESYNC_BIN"; exit 1; }
LAKESYNC_BIN=$tmp/lakesync node "$here/delta_golden.mjs" "$tmp"
