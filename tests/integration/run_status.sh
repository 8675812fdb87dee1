#!/usr/bin/env bash
# run_status.sh — `lakesync run -c FILE` and `lakesync status -c FILE`.
#
# A configuration with three pipelines and one synced table:
#   one     public.a, public.b
#   two     public.c
#   three   public.late, a table created only later: the pipeline fails
#           (table missing) and is restarted with a backoff while the
#           others keep running, then recovers once the table exists
#   chist   synced table (Delta → Postgres, continuous): c's history table
#           into public.c_hist, keyed by (_commit_lsn, _change_seq); it
#           fails until pipeline two has created the Delta table
#
# Checks (status --format json, read with node):
#   usage         bad config → exit 2 naming file and line; a location other than the
#                 default (here of a mirror table) → exit 4
#   streaming     every table streaming with rows = its snapshot count, the
#                 synced table streaming
#   conflict      a second run of the same file → exit 5
#   backoff       pipeline three in error with its message, restarts ≥ 1,
#                 while one/two stream; streaming after CREATE TABLE
#   workload      rows = snapshot + inserts + 2·updates + deletes per table;
#                 c_hist in Postgres has as many rows as c's history
#   lag           lag_bytes 0 once caught up; slot active
#   secrets       the password of a DSN never appears in status or the log
#   table error   an incompatible ALTER stops public.b only: status shows b in
#                 error (message, commit LSN) while a streams on
#   sigterm       exit 0 within 30 s, status file running=false, tables
#                 stopped with the same rows, slots inactive
#   offline       status with Postgres stopped: exit 0, rows from Delta,
#                 source reported unreachable
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  KEEPWORK=1 keeps the
# work directory (config, status file, run log).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=run_status
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! command -v node >/dev/null; then
	echo "SKIP $name (no node to read JSON)"
	exit 0
fi
if ! pg_start "wal_sender_timeout = 10s"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-run.XXXXXX")
chmod 755 "$work"
runpid=
cleanup() {
	[ -n "$runpid" ] && kill -9 "$runpid" 2>/dev/null
	wait 2>/dev/null
	pg_stop
	[ -n "${KEEPWORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail=0
pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi; }

conf="$work/lakesync.conf"
lake="$work/lake"
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"

# node one-liner over the JSON status: `jsq EXPR` with `s` the status
jsq() {
	node -e '
let t = ""; process.stdin.on("data", d => t += d).on("end", () => {
  const s = JSON.parse(t);
  const P = n => s.pipelines.find(p => p.name === n);
  const T = (p, t) => P(p).tables.find(x => x.table === t);
  const S = n => s.synced.find(x => x.name === n);
  console.log(eval(process.argv[1]));
});' "$1"
}
status_json() { "$bin" status -c "$conf" --format json 2>>"$work/status.err"; }

# wait up to $2 seconds for `jsq $1` to print "true"
wait_status() {
	local i=0 got
	while [ $i -lt $(($2 * 2)) ]; do
		got=$(status_json | jsq "$1" 2>/dev/null)
		[ "$got" = true ] && return 0
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

lk_psql -c "
create table a (id int primary key, v text);
create table b (id int primary key, n int);
create table c (id int primary key, s text);
insert into a select g, 'a' || g from generate_series(1, 1000) g;
insert into b select g, g from generate_series(1, 300) g;
insert into c select g, 'c' || g from generate_series(1, 40) g;" || { echo "FAIL $name setup"; exit 1; }

# ---- usage --------------------------------------------------------------------
printf '[pipeline.x]\nsource = s\ntarget = t\ntables = a\nflush_bytes = lots\njobs = 0\n' >"$work/bad.conf"
"$bin" run -c "$work/bad.conf" >"$work/bad.out" 2>&1
rc=$?
expect "bad-config-exit" "$rc" 2
if grep -q "file \"$work/bad.conf\", line 1" "$work/bad.out" && grep -q 'invalid flush_bytes "lots"' "$work/bad.out"; then
	pass "bad-config-message"
else
	failed "bad-config-message ($(tr '\n' ' ' <"$work/bad.out"))"
fi
printf '[pipeline.x]\nsource = s\ntarget = t\ntables = a\n\n[pipeline.x.table.a]\nmode = mirror\nlocation = /elsewhere\n' >"$work/mirror.conf"
"$bin" run -c "$work/mirror.conf" >"$work/mirror.out" 2>&1
rc=$?
expect "location-unsupported-exit" "$rc" 4
grep -q "mirror.conf\", line 6" "$work/mirror.out" && grep -q "t/public/a)" "$work/mirror.out" &&
	pass "location-unsupported-line" ||
	failed "location-unsupported-line ($(tr '\n' ' ' <"$work/mirror.out"))"
"$bin" status -c "$work/missing.conf" >/dev/null 2>&1
expect "status-missing-config" "$?" 1

# ---- run ----------------------------------------------------------------------
cat >"$conf" <<EOF
# run_status.sh
[pipeline.one]
source = "$dsn password=TopSecret42"
target = $lake
tables = public.a, public.b
flush_interval_ms = 200
jobs = 2

[pipeline.two]
source_env = RUN_STATUS_DSN
target = $lake
tables = ["public.c"]
flush_interval_ms = 200

[pipeline.three]
source = "$dsn"
target = $lake
tables = public.late
flush_interval_ms = 200

[synced.chist]
source = $lake/public/c_history
target = "$dsn"
table = public.c_hist
mode = continuous
primary_key = _commit_lsn, _change_seq
interval_ms = 200
EOF
export RUN_STATUS_DSN="$dsn"
"$bin" run -c "$conf" --max-backoff 2 >"$work/run.log" 2>&1 &
runpid=$!

if wait_status 'T("one","public.a").state === "streaming" && T("one","public.a").rows === 1000 &&
		T("one","public.b").state === "streaming" && T("one","public.b").rows === 300 &&
		T("two","public.c").state === "streaming" && T("two","public.c").rows === 40 &&
		S("chist").state === "streaming" && S("chist").rows === 40' 60; then
	pass "streaming"
else
	failed "streaming"
	status_json | sed 's/^/    /'
fi

"$bin" run -c "$conf" >"$work/run2.out" 2>&1
expect "second-run-conflict" "$?" 5

# pipeline three fails (no table) and is retried while the others run
if wait_status 'T("three","public.late").state === "error" && P("three").run.restarts >= 1 &&
		/public.late/.test(T("three","public.late").error) &&
		T("one","public.a").state === "streaming"' 20; then
	pass "backoff-error-state"
else
	failed "backoff-error-state"
	status_json | jsq 'JSON.stringify(P("three"))' | sed 's/^/    /'
fi
lk_psql -c "create table late (id int primary key); insert into late select generate_series(1, 7);"
if wait_status 'T("three","public.late").state === "streaming" && T("three","public.late").rows === 7' 30; then
	pass "backoff-recovers"
else
	failed "backoff-recovers"
	status_json | jsq 'JSON.stringify(P("three"))' | sed 's/^/    /'
fi

# ---- workload -----------------------------------------------------------------
lk_psql -c "
insert into a select g, 'new' from generate_series(1001, 1100) g;       -- 100 inserts
update a set v = 'upd' where id <= 50;                                 -- 50 updates
delete from b where id > 280;                                          -- 20 deletes
update b set n = -n where id <= 10;                                    -- 10 updates
begin; insert into c values (41, 'x'), (42, 'y'); update c set s = 'z' where id = 1; commit;
delete from c where id = 2;
insert into late values (8);"
# replica identity default: an update is one update_postimage row (no old
# image: the key did not change), a delete one row
# a: 1000 + 100 + 50 = 1150; b: 300 + 20 + 10 = 330; c: 40 + 2 + 1 + 1 = 44
if wait_status 'T("one","public.a").rows === 1150 && T("one","public.b").rows === 330 &&
		T("two","public.c").rows === 44 && T("three","public.late").rows === 8 &&
		S("chist").rows === 44 && S("chist").lag_versions === 0' 60; then
	pass "workload-rows"
else
	failed "workload-rows"
	status_json | sed 's/^/    /'
fi
n=$(lk_psql -At -c "select count(*) from c_hist")
expect "synced-rows-in-postgres" "$n" 44
if wait_status 'T("one","public.a").lag_bytes === 0 && T("two","public.c").lag_bytes === 0 &&
		P("one").slot.active === true && P("one").slot.retained_wal_bytes >= 0 &&
		/^[0-9A-F]+\/[0-9A-F]+$/.test(T("one","public.a").last_lsn) &&
		T("one","public.a").lag_seconds >= 0' 30; then
	pass "lag-and-slot"
else
	failed "lag-and-slot"
	status_json | jsq 'JSON.stringify(P("one"))' | sed 's/^/    /'
fi
"$bin" status -c "$conf" >"$work/status.txt" 2>&1
expect "status-text-exit" "$?" 0
if grep -q "^pipeline one" "$work/status.txt" && grep -Eq "public\.a +streaming +1,150" "$work/status.txt" &&
	grep -q "slot lakesync_one: active" "$work/status.txt" && grep -q "^synced chist" "$work/status.txt"; then
	pass "status-text"
else
	failed "status-text"
	sed 's/^/    /' "$work/status.txt"
fi

# ---- a table stopped by its own error ----------------------------------------
# an incompatible ALTER on b stops b only: status shows it in error with the
# message and the commit LSN the slot is held at, while a streams on
lk_psql -q -c "alter table b alter column n type text; insert into b values (1000, 'x')"
if wait_status 'T("one","public.b").state === "error" &&
		/integer/.test(T("one","public.b").error) && /commit LSN [0-9A-F]+\/[0-9A-F]+/.test(T("one","public.b").error) &&
		T("one","public.a").state === "streaming" && P("one").run.state === "running"' 30; then
	pass "table-error-while-running"
else
	failed "table-error-while-running"
	status_json | jsq 'JSON.stringify(P("one"))' | sed 's/^/    /'
fi

# ---- stop ---------------------------------------------------------------------
kill -TERM "$runpid"
i=0 rc=timeout
while [ $i -lt 300 ]; do
	if ! kill -0 "$runpid" 2>/dev/null; then
		wait "$runpid"
		rc=$?
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
[ "$rc" = timeout ] && kill -9 "$runpid" 2>/dev/null
runpid=
expect "sigterm-exit" "$rc" 0
running=$(jsq 's.running' <"$conf.status.json")
expect "status-file-final" "$running" false
# pg_replication_slots.active clears when the walsender exits, just after us
sleep 1
got=$(status_json | jsq 's.run_alive === false && T("one","public.a").state === "stopped" &&
	T("one","public.a").rows === 1150 && T("two","public.c").state === "stopped" &&
	S("chist").state === "stopped" && P("one").slot.active === false &&
	P("two").slot.exists === true')
expect "status-after-stop" "$got" true

if grep -q TopSecret42 "$work/run.log" "$work/status.txt" || status_json | grep -q TopSecret42; then
	failed "password-redacted"
else
	grep -q 'password=\*\*\*\*\*\*\*\*' "$work/status.txt" && pass "password-redacted" ||
		failed "password-redacted (no masked password in status)"
fi

# ---- offline ------------------------------------------------------------------
pg_stop
"$bin" status -c "$conf" --format json >"$work/offline.json" 2>"$work/offline.err"
expect "offline-exit" "$?" 0
got=$(jsq 'T("one","public.a").rows === 1150 && T("one","public.a").state === "stopped" &&
	P("one").source_error !== null' <"$work/offline.json")
expect "offline-status" "$got" true

if [ $fail -ne 0 ]; then
	echo "--- run log"
	sed 's/^/    /' "$work/run.log" | tail -60
fi
exit $fail
