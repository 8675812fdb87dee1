#!/usr/bin/env bash
# sync_pgbench.sh — `lakesync sync` of the four pgbench tables while pgbench
# runs: `pgbench -i -s 10` (1,000,000 accounts), lakesync started in the
# background (continuous mode: snapshot of every table, then streaming),
# PGBENCH_SECONDS (default 60) of `pgbench -c 4`, then SIGTERM (a clean
# stop: exit 0), a run stopped by SIGINT (exit 130), and a last run
# --until-caught-up.
#
# Checks (DuckDB, tests/oracle/sync_check.mjs):
#   accounts, branches, tellers   history replayed by key == the table
#   history                       pgbench_history has no primary key: the
#                                 multiset of its insert rows == the table
#   snapshot                      the snapshot of the accounts was logged
#                                 with its row count
#   sigterm / sigint              exit codes 0 / 130, within 15 s
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_pgbench
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
SECONDS_RUN=${PGBENCH_SECONDS:-60}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! command -v node >/dev/null || [ ! -d "$root/tests/oracle/node_modules/@duckdb" ] ||
	! command -v pgbench >/dev/null; then
	echo "SKIP $name (no node/DuckDB oracle or pgbench)"
	exit 0
fi
if ! pg_start "wal_sender_timeout = 10s" "max_wal_size = 1GB"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-pgbench.XXXXXX")
chmod 755 "$work"
lspid=
cleanup() {
	[ -n "$lspid" ] && kill -9 "$lspid" 2>/dev/null
	wait 2>/dev/null
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
lake="$work/lake"
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi; }
tables="--table public.pgbench_accounts --table public.pgbench_branches --table public.pgbench_tellers --table public.pgbench_history"

# wait up to $2 seconds for our child $1; rc = its exit status, or "timeout"
wait_for() {
	local i=0
	rc=
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 10)) ]; then
			rc=timeout
			kill -9 "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			return
		fi
		sleep 0.1
	done
	wait "$1"
	rc=$?
}

if ! pgbench -i -s 10 -q >"$work/init.log" 2>&1; then
	echo "FAIL $name pgbench-init"
	sed 's/^/    /' "$work/init.log"
	exit 1
fi

"$bin" sync --source "$dsn" --target "$lake" $tables >"$work/run1.log" 2>&1 &
lspid=$!
pgbench -n -c 4 -j 2 -T "$SECONDS_RUN" >"$work/bench.log" 2>&1
expect "workload" "$?" 0
kill -TERM "$lspid"
wait_for "$lspid" 15
lspid=
expect "sigterm" "$rc" 0
if [ "$rc" != 0 ]; then sed 's/^/    /' "$work/run1.log" | tail -20; fi
if grep -q 'snapshot of public.pgbench_accounts: 1000000 rows' "$work/run1.log"; then
	pass "snapshot-logged"
else
	failed "snapshot-logged"; sed 's/^/    /' "$work/run1.log" | head -20
fi

# a few more transactions, a run stopped by SIGINT, then catch up
pgbench -n -c 2 -t 200 >/dev/null 2>&1
"$bin" sync --source "$dsn" --target "$lake" $tables >"$work/run2.log" 2>&1 &
lspid=$!
sleep 2
kill -INT "$lspid"
wait_for "$lspid" 15
lspid=
expect "sigint" "$rc" 130
"$bin" sync --source "$dsn" --target "$lake" $tables --until-caught-up >"$work/run3.log" 2>&1
rc=$?
expect "caught-up" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/    /' "$work/run3.log"
echo "pgbench: $(grep 'number of transactions actually processed' "$work/bench.log")" >&2

cmp() { # label table key mode
	(cd "$root/tests/oracle" && node sync_check.mjs compare "$name $1" "$lake/public/${2}_history" \
		"public.$2" "$3" "${4:-replay}") || fail=1
}
cmp accounts pgbench_accounts aid
cmp branches pgbench_branches bid
cmp tellers pgbench_tellers tid
cmp history pgbench_history - inserts
exit $fail
