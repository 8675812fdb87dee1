#!/usr/bin/env bash
# demo.sh — `lakesync demo`: a private PostgreSQL, the notification
# subscriptions use case, Lakehouse Sync into a lakehouse directory.
#
# Checks:
#   run            `lakesync demo --seconds 10 --lakehouse DIR` exits 0 and
#                  prints its five phases and a freshness line
#   tables         the three Delta history tables exist (_delta_log)
#   counts         for each, the rows the demo reports (rows=) equal what
#                  its workload counted (expected=), what `lakesync delta
#                  scan` returns, and what DuckDB counts by replaying the
#                  _delta_log itself (tests/oracle/sync_check.mjs, when
#                  node and DuckDB are installed)
#   cleanup        no process runs from the demo's temporary cluster
#                  directory and the directory is gone
#   again          a second demo into the same lakehouse replaces the
#                  tables (counts checked again)
#   sigint         --seconds 0 ended by SIGINT to the process group (as
#                  Ctrl-C does): exit 0, counts equal, cluster stopped
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=demo
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! pgbin=$(lk_pg_bin) || [ ! -x "$pgbin/postgres" ]; then
	echo "SKIP $name (no PostgreSQL server binaries)"
	exit 0
fi
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
	echo "SKIP $name (root without a postgres user)"
	exit 0
fi
export PG_BIN=$pgbin
oracle=
if command -v node >/dev/null && [ -d "$root/tests/oracle/node_modules/@duckdb" ]; then
	oracle=1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-demo-test.XXXXXX")
demopid=
cleanup() {
	[ -n "$demopid" ] && kill -9 "$demopid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail=0
pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi; }

# check_run LABEL OUT: tables, counts and cleanup of one finished demo
check_run() {
	local label=$1 out=$2 n=0 line path rows expected scan tmpdir
	while read -r line; do
		path=$(sed -n 's/^delta-table \([^ ]*\) .*/\1/p' <<<"$line")
		rows=$(sed -n 's/.* rows=\([-0-9]*\) .*/\1/p' <<<"$line")
		expected=$(sed -n 's/.* expected=\([-0-9]*\) .*/\1/p' <<<"$line")
		n=$((n + 1))
		local t
		t=$(basename "$path")
		if [ -d "$path/_delta_log" ]; then pass "$label-$t-exists"; else failed "$label-$t-exists ($path)"; fi
		expect "$label-$t-rows-as-counted" "$rows" "$expected"
		scan=$("$bin" delta scan "$path" --format jsonl 2>/dev/null | wc -l)
		expect "$label-$t-rows-scan" "$scan" "$rows"
		if [ -n "$oracle" ]; then
			local duck
			duck=$(cd "$root/tests/oracle" && node sync_check.mjs sql "h=$path" "SELECT count(*) FROM h" 2>&1 |
				tr -dc '0-9')
			expect "$label-$t-rows-duckdb" "$duck" "$rows"
		fi
	done < <(grep '^delta-table ' "$out")
	expect "$label-tables" "$n" 3
	tmpdir=$(grep -o 'private cluster in [^ ]*' "$out" | head -1 | sed 's/private cluster in //')
	if [ -z "$tmpdir" ]; then
		failed "$label-cleanup (no cluster directory printed)"
	elif ps -eo args | grep -F -- "$tmpdir" | grep -v grep >/dev/null; then
		failed "$label-cleanup (a process still runs from $tmpdir)"
		ps -eo pid,args | grep -F -- "$tmpdir" | grep -v grep | sed 's/^/    /'
	elif [ -e "$tmpdir" ]; then
		failed "$label-cleanup ($tmpdir still exists)"
	else
		pass "$label-cleanup"
	fi
}

# ---- a bounded run -------------------------------------------------------------
lake="$work/lake"
"$bin" demo --seconds 10 --lakehouse "$lake" >"$work/run1.out" 2>"$work/run1.err"
rc=$?
expect "run-exit" "$rc" 0
if grep -q '^\[1/5\] PostgreSQL' "$work/run1.out" && grep -q '^\[5/5\]' "$work/run1.out" &&
	grep -q 'freshness p50 [0-9.]* s, p90' "$work/run1.out" &&
	grep -q '_change_type=update_postimage' "$work/run1.out"; then
	pass "run-output"
else
	failed "run-output"
	sed 's/^/    /' "$work/run1.out" "$work/run1.err" | tail -40
fi
check_run run1 "$work/run1.out"

# ---- again, into the same lakehouse -------------------------------------------
"$bin" demo --seconds 3 --lakehouse "$lake" >"$work/run2.out" 2>"$work/run2.err"
expect "again-exit" "$?" 0
grep -q "previous demo's tables replaced" "$work/run2.out" && pass "again-replaced" ||
	failed "again-replaced"
check_run run2 "$work/run2.out"

# ---- Ctrl-C --------------------------------------------------------------------
lake3="$work/lake3"
setsid "$bin" demo --seconds 0 --lakehouse "$lake3" >"$work/run3.out" 2>"$work/run3.err" &
demopid=$!
i=0
until grep -q '^\[4/5\]' "$work/run3.out" 2>/dev/null || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 3
kill -INT -- "-$demopid" 2>/dev/null
i=0 rc=timeout
while [ $i -lt 600 ]; do
	if ! kill -0 "$demopid" 2>/dev/null; then
		wait "$demopid"
		rc=$?
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
[ "$rc" = timeout ] && kill -9 "$demopid" 2>/dev/null
demopid=
expect "sigint-exit" "$rc" 0
check_run sigint "$work/run3.out"

if [ $fail -ne 0 ]; then
	echo "--- stderr of the runs"
	cat "$work"/run*.err | tail -40 | sed 's/^/    /'
fi
exit $fail
