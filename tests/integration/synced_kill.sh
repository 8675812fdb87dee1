#!/usr/bin/env bash
# synced_kill.sh — done-when test 3 of synced tables: SIGKILL during an
# apply never leaves a partial Delta version visible, and the restart
# resumes exactly once.
#
# A Delta table (deletion vectors + Change Data Feed) gets 24 versions
# from the gated writer driver (build/tests/test_synced_changes), each
# version's expected rows saved.  `lakesync synced-table --mode triggered`
# is started again and again and SIGKILLed after a random delay; every
# apply transaction stays open 150 ms before COMMIT
# (LAKESYNC_SYNCED_APPLY_DELAY_MS) so kills land inside open transactions
# (counted from the server log).  After each kill the table must equal the
# expected rows of the version the state row records; a reader polling in
# the background checks every (state version, md5 of the rows) pair it sees
# in one statement against the expected rows of that version; the last run
# (no kill) reaches the final version.  Then snapshot refreshes are killed
# at random points: the target stays whole.
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=synced_kill
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
drvbin=$root/$BUILD/tests/test_synced_changes
[ -x "$bin" ] || { echo "SKIP $name (no $bin: run make)"; exit 0; }
[ -x "$drvbin" ] || { echo "SKIP $name (no $drvbin: run make tests)"; exit 0; }
pg_start "log_min_messages = log" || { echo "SKIP $name (no usable PostgreSQL)"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-kill.XXXXXX")
chmod 755 "$work"
reader=
cleanup() {
	[ -n "$reader" ] && kill "$reader" 2>/dev/null
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
ok() { echo "PASS $name $*"; }
bad() { echo "FAIL $name $*"; fail=1; }
t=t_kill

drv() {
	if ! (cd "$root" && LAKESYNC_DRIVER_TABLE="$work/$t" LAKESYNC_DRIVER_MODEL="$work/$t.model" \
		LAKESYNC_DRIVER_EXPECT="$work/$t.expect" LAKESYNC_DRIVER_OP=$1 LAKESYNC_DRIVER_OPTS=${2:-} \
		"$drvbin" --filter 'driver/*' >"$work/drv.log" 2>&1) || ! grep -q 'Passing: 1' "$work/drv.log"; then
		bad "driver $1"; sed 's/^/    /' "$work/drv.log"; exit 1
	fi
	local v
	v=$(sed -n '1s/^v \([0-9]*\) .*/\1/p' "$work/$t.model")
	cp "$work/$t.expect" "$work/expect.$v"
	# md5 of the rows as string_agg(…, '\n') gives them (no final newline)
	echo "$v $(head -c -1 "$work/$t.expect" | md5sum | cut -d' ' -f1)" >>"$work/md5s"
	last=$v
}

rows_sql="SELECT concat_ws('|', id, part, coalesce(name, '<null>'),
	coalesce(score::text, '<null>'), coalesce((extract(epoch FROM ts) * 1000000)::bigint::text, '<null>'),
	coalesce(tags::text, '<null>'), coalesce(attrs::text, '<null>')) AS r, id FROM $t"
state_sql="SELECT version FROM lakesync.synced_tables WHERE target = '\"public\".\"$t\"'"

run() {
	"$bin" synced-table --source "$work/$t" --target "$dsn" --table "public.$t" --mode "$1" \
		--primary-key id "${@:2}"
}

drv create dv,cdf
drv step
run triggered >"$work/first.log" 2>&1 || { bad "first run: $(cat "$work/first.log")"; exit 1; }
for i in $(seq 1 24); do drv step; done

# the reader: (state version, md5 of the rows) in one statement, every ~50 ms
(
	while :; do
		lk_psql -At -F ' ' -c "SELECT ($state_sql), (SELECT md5(string_agg(r, E'\n' ORDER BY id)) FROM ($rows_sql) s)" \
			>>"$work/seen" 2>>"$work/seen.err"
		sleep 0.05
	done
) &
reader=$!

kills=0
kill_fail=0
versions_seen=" "
for i in $(seq 1 60); do
	v=$(lk_psql -At -c "$state_sql")
	[ "$v" = "$last" ] && break
	# the binary itself in the background (not a subshell): SIGKILL hits it
	LAKESYNC_SYNCED_APPLY_DELAY_MS=150 "$bin" synced-table --source "$work/$t" --target "$dsn" \
		--table "public.$t" --mode triggered --primary-key id >"$work/run.log" 2>&1 &
	p=$!
	sleep "0.$(( (RANDOM % 9) + 1 ))$(( RANDOM % 10 ))"
	kill -KILL "$p" 2>/dev/null && kills=$((kills + 1))
	wait "$p" 2>/dev/null
	# state and rows in one statement (one snapshot)
	lk_psql -At -c "SELECT ($state_sql)::text UNION ALL SELECT * FROM (SELECT r FROM ($rows_sql) s ORDER BY id) q" \
		>"$work/got.all"
	v=$(head -1 "$work/got.all")
	tail -n +2 "$work/got.all" >"$work/got"
	if ! diff -q "$work/expect.$v" "$work/got" >/dev/null; then
		bad "after kill $i the table is not version $v"
		diff "$work/expect.$v" "$work/got" | head -5 | sed 's/^/    /'
		kill_fail=1
	fi
	versions_seen="$versions_seen$v "
done
v=$(lk_psql -At -c "$state_sql")
if [ "$v" != "$last" ]; then
	run triggered >"$work/last.log" 2>&1 || bad "last run: $(cat "$work/last.log")"
	v=$(lk_psql -At -c "$state_sql")
fi
[ "$v" = "$last" ] && ok "reached the final version $last after $kills kills" || bad "state $v, final $last"
lk_psql -At -c "SELECT r FROM ($rows_sql) s ORDER BY id" >"$work/got"
diff -q "$work/expect.$last" "$work/got" >/dev/null && ok "final rows equal version $last" ||
	bad "final rows differ from version $last"
[ $kill_fail = 0 ] && ok "every kill left the table equal to the version its state row records (versions:$versions_seen)"

# kills during snapshot refreshes: the target stays whole
for i in 1 2 3 4 5; do
	"$bin" synced-table --source "$work/$t" --target "$dsn" --table "public.$t" --mode snapshot \
		--primary-key id >"$work/snap.log" 2>&1 &
	p=$!
	sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
run snapshot >"$work/snap.log" 2>&1 || bad "snapshot after kills: $(cat "$work/snap.log")"
lk_psql -At -c "SELECT r FROM ($rows_sql) s ORDER BY id" >"$work/got"
diff -q "$work/expect.$last" "$work/got" >/dev/null && ok "snapshot refresh after 5 killed ones" ||
	bad "snapshot refresh after kills"
left=$(lk_psql -At -c "SELECT count(*) FROM pg_class WHERE relname LIKE 'lakesync_shadow_%'")
[ "$left" = 0 ] && ok "no shadow table left behind" || bad "$left shadow tables left"

kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
reader=
sleep 0.1
# every pair the reader saw is a whole version
n=0 wrong=0
while read -r sv md5; do
	[ -z "$sv" ] && continue
	n=$((n + 1))
	want=$(awk -v v="$sv" '$1 == v { print $2 }' "$work/md5s")
	if [ "$md5" != "$want" ]; then
		wrong=$((wrong + 1))
		[ $wrong -le 3 ] && echo "    reader saw version $sv with rows md5 $md5 (want $want)"
	fi
done <"$work/seen"
errors=$(grep -c -v 'does not exist' "$work/seen.err" 2>/dev/null || true)
if [ $n -ge 20 ] && [ $wrong = 0 ]; then
	ok "reader saw $n (version, rows) pairs, every one a whole version"
else
	bad "reader: $n pairs, $wrong partial"
fi
missing=$(grep -c 'does not exist' "$work/seen.err" 2>/dev/null || true)
[ "${missing:-0}" = 0 ] && ok "the reader never found the table missing (snapshot swaps included)" ||
	bad "the reader found the table missing $missing times"
open_tx=$(grep -c 'unexpected EOF on client connection with an open transaction' "$LK_PG_DIR/server.log" 2>/dev/null || true)
if [ "${open_tx:-0}" -ge 1 ]; then
	ok "$open_tx kills landed inside an open apply transaction"
else
	bad "no kill landed inside an open transaction ($kills kills): the test proved nothing"
fi
exit $fail
