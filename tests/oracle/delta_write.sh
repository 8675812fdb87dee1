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

# The command line: lakesync delta checkpoint|optimize|vacuum on a driver
# table (6 commits, one row deleted by a deletion vector).
L=${LAKESYNC_BIN:-$PWD/$BUILD/lakesync}
if ! "$L" delta vacuum --help >/dev/null 2>&1; then
	echo "SKIP delta-write/cli: \`lakesync delta\` does not reach cli_delta_maint_main yet"
	exit $fail
fi
t=$tmp/cli
cli_fail() { echo "FAIL delta-write/cli: $1"; shift; printf '%s\n' "$@" | tail -10; fail=1; }
drv "append table=$t n=6 rows=3 app=c del=3" >/dev/null 2>&1 || cli_fail "driver"
out=$("$L" delta checkpoint "$t" 2>&1); rc=$?
[ $rc = 0 ] && [[ "$out" =~ ^"checkpoint of version 6 written: _delta_log/00000000000000000006.checkpoint.parquet (10 actions, 6 files, "[0-9]+" bytes)"$ ]] ||
	cli_fail "checkpoint (exit $rc)" "$out"
out=$("$L" delta optimize "$t" --dry-run 2>&1); rc=$?
[ $rc = 0 ] && [[ "$out" =~ ^"would compact 6 files ("[0-9]+" bytes) in 1 partition"$ ]] || cli_fail "optimize --dry-run (exit $rc)" "$out"
out=$("$L" delta optimize "$t" --target-size 64MiB 2>&1); rc=$?
[ $rc = 0 ] && [[ "$out" =~ ^"version 7: compacted 6 files ("[0-9]+" bytes) into 1 ("[0-9]+" bytes) in 1 partition, 1 deleted rows purged"$ ]] ||
	cli_fail "optimize (exit $rc)" "$out"
out=$("$L" delta vacuum "$t" --retention-hours 0 2>&1); rc=$?
[ $rc = 2 ] && grep -q -- "--force" <<<"$out" || cli_fail "vacuum without --force must be refused with exit 2 (got $rc)" "$out"
out=$("$L" delta vacuum "$t" --retention-hours 0 --force --dry-run 2>/dev/null); rc=$?
[ $rc = 0 ] && [ "$(grep -c '^part-.*\.c000\.zstd\.parquet$' <<<"$out")" = 6 ] &&
	[ "$(grep -c '^deletion_vector_.*\.bin$' <<<"$out")" = 1 ] && [ "$(wc -l <<<"$out")" = 7 ] ||
	cli_fail "vacuum --dry-run (exit $rc) must list the 6 compacted files and the DV file" "$out"
[ "$(ls "$t"/*.parquet | wc -l)" = 7 ] || cli_fail "vacuum --dry-run deleted files"
out=$("$L" delta vacuum "$t" --retention-hours 0 --force 2>&1 >/dev/null); rc=$?
[ $rc = 0 ] && [[ "$out" =~ "deleted 7 files" ]] || cli_fail "vacuum (exit $rc)" "$out"
drv "verify table=$t apps=c rows=3 del=3" >/dev/null 2>&1 || cli_fail "the table does not verify after the commands"
out=$("$L" delta optimize "$tmp/none" 2>&1); rc=$?
[ $rc = 1 ] && [[ "$out" =~ "not a Delta table" ]] || cli_fail "a missing table must exit 1 (got $rc)" "$out"
out=$("$L" delta optimize "$t" --target-size 12X 2>&1); rc=$?
[ $rc = 2 ] || cli_fail "a bad option must exit 2 (got $rc)" "$out"
for c in checkpoint optimize vacuum; do
	"$L" delta $c --help | grep -q "^usage: lakesync delta $c TABLE" || cli_fail "$c --help"
done
[ $fail = 0 ] && echo "PASS delta-write/cli: checkpoint, optimize (dry run, target size), vacuum (refused without --force, dry run, real), errors, --help"
exit $fail
