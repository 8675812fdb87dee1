#!/usr/bin/env bash
# pg_copy.sh — the binary COPY reader (src/pg/copyout.c) and the binary
# value readers (src/pg/pgtypes.c) against a throwaway PostgreSQL 15
# (lib.sh): runs the pgcopylive::* tests of build/tests/test_pgcopy with
# LAKESYNC_TEST_DSN pointing at the cluster (edge values of every native
# type read from text and from binary give the same bits or the same error;
# one table copied in both formats gives the same rows, and columns selected
# as their text output in binary give the text format's bytes; block
# ranges; an empty table).
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  BUILD (default build)
# selects the build directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=pg_copy
. "$here/lib.sh"

testbin="$root/$BUILD/tests/test_pgcopy"
if [ ! -x "$testbin" ]; then
	echo "SKIP $name (no $BUILD/tests/test_pgcopy: run make tests)"
	exit 0
fi
if ! pg_start; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-pgcopy.XXXXXX")
trap 'pg_stop; rm -rf "$work"' EXIT
export LAKESYNC_TEST_DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
(cd "$root" && "$testbin" --verbose --jobs 2 --filter 'pgcopylive/*') >"$work/out" 2>&1
rc=$?
ran=0
while read -r status test; do
	ran=$((ran + 1))
	case $status in
	PASS) echo "PASS $name $test" ;;
	SKIP) echo "SKIP $name $test" ;;
	*) echo "FAIL $name $test"; fail=1 ;;
	esac
done < <(sed -n 's/^\[\(PASS\|FAIL\|SKIP\)\] \(pgcopylive::[a-z_]*\).*/\1 \2/p' "$work/out")
if [ "$ran" -lt 4 ] || [ $rc -ne 0 ]; then
	echo "FAIL $name test_pgcopy (exit $rc, $ran pgcopylive tests reported)"
	fail=1
fi
[ $fail -ne 0 ] && sed 's/^/    /' "$work/out"
exit $fail
