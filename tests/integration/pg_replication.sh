#!/usr/bin/env bash
# pg_replication.sh — pg/conn, pg/replication and pg/copyout against a
# throwaway PostgreSQL 15 (tests/integration/lib.sh).
#
# Runs the pgint/* tests of build/tests/test_pgconn with LAKESYNC_TEST_DSN
# pointing at the cluster: pinned session settings, errors and SQLSTATEs,
# connection loss, prerequisite checks, table checks, the column catalog
# (domains, arrays, enums, typmods, PK positions), publications; then a slot
# created with an exported snapshot → COPY of the table at that snapshot
# over two connections by ctid ranges → changes made after the slot are
# streamed with START_REPLICATION (and the snapshot rows are not) → feedback
# moves confirmed_flush_lsn in pg_replication_slots → a large transaction
# arrives streamed → keepalives are answered (wal_sender_timeout = 2s) →
# restart from the confirmed position → the walsender is terminated and
# pgr_next reports a lost connection.  Then a second cluster with
# wal_level = replica: the prerequisite check names the setting to change.
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  BUILD (default build)
# selects the build directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=pg_replication
. "$here/lib.sh"

testbin="$root/$BUILD/tests/test_pgconn"
if [ ! -x "$testbin" ]; then
	echo "SKIP $name (no $BUILD/tests/test_pgconn: run make tests)"
	exit 0
fi
if ! pg_start "wal_sender_timeout = 2s" "logical_decoding_work_mem = 64kB"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-pgrepl.XXXXXX")
trap 'pg_stop; rm -rf "$work"' EXIT

export LAKESYNC_TEST_DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0

# One line per Criterion test of the pgint suite.
(cd "$root" && "$testbin" --verbose --jobs 2 --filter 'pgint/*') >"$work/out" 2>&1
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
	echo "FAIL $name test_pgconn (exit $rc, $ran pgint tests reported)"
	fail=1
fi
[ $fail -ne 0 ] && sed 's/^/    /' "$work/out"

# Nothing left behind on the server.
left=$(psql -X -tA -c "SELECT (SELECT count(*) FROM pg_replication_slots) || ' ' ||
	(SELECT count(*) FROM pg_publication WHERE pubname LIKE 'lkp%') || ' ' ||
	(SELECT count(*) FROM pg_class WHERE relname LIKE 'lkp%')" 2>&1)
if [ "$left" = "0 0 0" ]; then
	echo "PASS $name cleanup"
else
	echo "FAIL $name cleanup (slots, publications, tables left: $left)"
	fail=1
fi

# A server with wal_level = replica: the check names the setting to change.
pg_stop
if pg_start "wal_level = replica"; then
	trap 'pg_stop; rm -rf "$work"' EXIT
	export LAKESYNC_TEST_REPLICA_DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
	if (cd "$root" && "$testbin" --verbose --filter 'pgreplica/*') >"$work/out2" 2>&1 &&
		grep -q '^\[PASS\] pgreplica::' "$work/out2"; then
		echo "PASS $name wal_level_replica"
	else
		echo "FAIL $name wal_level_replica"
		sed 's/^/    /' "$work/out2"
		fail=1
	fi
else
	echo "FAIL $name wal_level_replica (the second cluster did not start)"
	fail=1
fi
exit $fail
