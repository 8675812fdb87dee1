#!/usr/bin/env bash
# synced_pgload.sh — pg/load against a throwaway PostgreSQL 15
# (tests/integration/lib.sh): runs the pgint/* tests of
# build/tests/test_pgload with LAKESYNC_TEST_DSN pointing at the cluster.
# They load batches of tricky values (every scalar type at its edges, COPY
# and array escaping, jsonb structs and maps, 2000 random float bit
# patterns) with COPY FROM STDIN and read every value back as the server
# prints it (or its float8send/float4send bits).
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  BUILD (default build)
# selects the build directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=synced_pgload
. "$here/lib.sh"

testbin="$root/$BUILD/tests/test_pgload"
if [ ! -x "$testbin" ]; then
	echo "SKIP $name (no $BUILD/tests/test_pgload: run make tests)"
	exit 0
fi
if ! pg_start; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-pgload.XXXXXX")
trap 'pg_stop; rm -rf "$work"' EXIT

export LAKESYNC_TEST_DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
(cd "$root" && timeout 120 "$testbin" --verbose --jobs 1 --filter 'pgint/*') >"$work/out" 2>&1
rc=$?
ran=0
while read -r status test; do
	ran=$((ran + 1))
	case $status in
	PASS) echo "PASS $name $test" ;;
	SKIP) echo "SKIP $name $test" ;;
	*) echo "FAIL $name $test"; fail=1 ;;
	esac
done < <(sed -n 's/^\[\(PASS\|FAIL\|SKIP\)\] \(pgint::[a-z_]*\).*/\1 \2/p' "$work/out")
if [ "$ran" -lt 3 ] || [ $rc -ne 0 ]; then
	echo "FAIL $name test_pgload (exit $rc, $ran pgint tests reported)"
	fail=1
fi
[ $fail -ne 0 ] && sed 's/^/    /' "$work/out"
exit $fail
