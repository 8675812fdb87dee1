#!/usr/bin/env bash
# delta_write.sh — tables lakesync writes are read identically by our reader
# and by an independent replay with DuckDB (tests/oracle/delta_oracle.mjs:
# JSON log + checkpoint Parquet → active files → read_parquet; rows removed
# by deletion vectors checked by count), before and after checkpoint,
# optimize and vacuum.  Two tables, written by the test_delta_write driver:
#   types  17 columns of every Delta type we write (NaN/±Inf, long and
#          Unicode strings, binary, pre-1970 dates and timestamps,
#          timestamp_ntz, decimal(30,6), nested structs, arrays, maps);
#          deletion vectors (merged on a second delete), a whole-file remove
#   parts  partitioned by (p string, d date) with values needing escapes and
#          nulls; Change Data Feed; deletes by copy-on-write rewrites
# Steps: create (3 appends) → delete → checkpoint → more (commits after the
# checkpoint) → optimize → vacuum (retention 0); after each, the driver
# dumps what dl_scan reads and the oracle compares (files, rows, stats, cdf).
# Prints PASS/FAIL/SKIP lines; exit 0 iff no FAIL.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$BUILD/tests/test_delta_write
if [ ! -d tests/oracle/node_modules/@duckdb/node-api ]; then
	echo "SKIP delta-write: tests/oracle/node_modules missing (npm ci in tests/oracle)"; exit 0
fi
if [ ! -x "$bin" ]; then
	make -s "$bin" >/dev/null 2>&1 || { echo "FAIL delta-write: cannot build $bin"; exit 1; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lk-delta-write.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
drv() { LAKESYNC_DELTA_DRIVER="$1" "$bin" --filter driver/run; }
fail=0
for kind in types parts; do
	t=$tmp/$kind
	for step in create delete checkpoint more optimize vacuum; do
		if ! out=$(drv "oracle table=$t kind=$kind step=$step" 2>&1); then
			echo "FAIL delta-write/$kind/$step: the driver failed"; echo "$out" | tail -15
			fail=1; break
		fi
		d=$tmp/$kind-$step.parquet
		if ! out=$(drv "dump table=$t out=$d" 2>&1); then
			echo "FAIL delta-write/$kind/$step: our reader failed"; echo "$out" | tail -15
			fail=1; break
		fi
		node tests/oracle/delta_oracle.mjs "$t" "$d" "$kind/$step" || fail=1
	done
done
exit $fail
