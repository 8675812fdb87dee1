#!/usr/bin/env bash
# synced_follow.sh — done-when test 2 of synced tables: `lakesync
# synced-table --mode continuous` follows Delta tables that another process
# (the gated driver of build/tests/test_synced_changes, writing with
# lakesync's Delta writer) keeps appending to, updating and deleting from;
# after each step the PostgreSQL table equals the driver's model of the
# rows.  Three tables: deletion vectors + Change Data Feed (cdc files),
# deletion vectors only (row-level diff of DVs), neither (copy-on-write
# diff).  Also: an added column (ALTER TABLE ADD COLUMN), OPTIMIZE (no
# change), a burst of 10 commits while following, SIGTERM stops cleanly;
# the read-only guard and revoked privileges; a snapshot refresh keeps
# grants; --as-of time travel; triggered mode; duplicate keys (an error,
# or --dedup-by latest wins); a schema change that needs a full refresh.
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=synced_follow
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
drvbin=$root/$BUILD/tests/test_synced_changes
[ -x "$bin" ] || { echo "SKIP $name (no $bin: run make)"; exit 0; }
[ -x "$drvbin" ] || { echo "SKIP $name (no $drvbin: run make tests)"; exit 0; }
pg_start || { echo "SKIP $name (no usable PostgreSQL)"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-follow.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
ok() { echo "PASS $name $*"; }
bad() { echo "FAIL $name $*"; fail=1; }

# drv TABLE OP [STEPS] [OPTS]: one driver run; the model's expected rows
# go to $work/TABLE.expect (and a copy per version).
drv() {
	local t=$1 op=$2 steps=${3:-1} opts=${4:-}
	if ! (cd "$root" && LAKESYNC_DRIVER_TABLE="$work/$t" LAKESYNC_DRIVER_MODEL="$work/$t.model" \
		LAKESYNC_DRIVER_EXPECT="$work/$t.expect" LAKESYNC_DRIVER_OP=$op \
		LAKESYNC_DRIVER_STEPS=$steps LAKESYNC_DRIVER_OPTS=$opts \
		"$drvbin" --filter 'driver/*' >"$work/drv.log" 2>&1) ||
		! grep -q 'Passing: 1' "$work/drv.log"; then
		bad "driver $t $op"; sed 's/^/    /' "$work/drv.log"; return 1
	fi
	cp "$work/$t.expect" "$work/$t.expect.$(model_version "$t")"
}
model_version() { sed -n '1s/^v \([0-9]*\) .*/\1/p' "$work/$1.model"; }

state_version() {
	lk_psql -At -c "SELECT version FROM lakesync.synced_tables WHERE target = '\"public\".\"$1\"'" 2>/dev/null
}

# wait_version TABLE V: until the state row says V (30 s at most)
wait_version() {
	local i
	for i in $(seq 1 300); do
		[ "$(state_version "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# export TABLE: the rows as the driver prints them
export_rows() {
	local t=$1 extra=""
	if [ "$(lk_psql -At -c "SELECT count(*) FROM information_schema.columns
			WHERE table_name = '$t' AND column_name = 'extra'")" = 1 ]; then
		extra=", coalesce(extra, '<null>')"
	fi
	lk_psql -At -c "SELECT concat_ws('|', id, part, coalesce(name, '<null>'),
		coalesce(score::text, '<null>'), coalesce((extract(epoch FROM ts) * 1000000)::bigint::text, '<null>'),
		coalesce(tags::text, '<null>'), coalesce(attrs::text, '<null>') $extra)
		FROM \"$t\" ORDER BY id"
}

# same TABLE WHAT [EXPECT_FILE]: compare the PostgreSQL table with the model
same() {
	local t=$1 what=$2 exp=${3:-$work/$1.expect}
	export_rows "$t" >"$work/$t.got"
	if diff -q "$exp" "$work/$t.got" >/dev/null; then
		ok "$t $what ($(wc -l <"$work/$t.got") rows)"
	else
		bad "$t $what"; diff "$exp" "$work/$t.got" | head -10 | sed 's/^/    /'
	fi
}

start_continuous() {
	local t=$1
	"$bin" synced-table --source "$work/$t" --target "$dsn" --table "public.$t" \
		--mode continuous --primary-key id --interval-ms 100 >"$work/$t.follow.log" 2>&1 &
	pids+=($!)
	eval "pid_$t=$!"
}

tables="t_cdf t_dv t_cow"
drv t_cdf create 1 dv,cdf && drv t_dv create 1 dv && drv t_cow create 1 "" || exit 1
for t in $tables; do drv "$t" step 1 || exit 1; done
for t in $tables; do start_continuous "$t"; done
for t in $tables; do
	wait_version "$t" "$(model_version "$t")" || bad "$t initial snapshot not synced"
	same "$t" "initial snapshot (version $(model_version "$t"))"
done

# step by step: inserts, updates, deletes
for step in 1 2 3 4 5; do
	for t in $tables; do
		drv "$t" step 1 || continue
		v=$(model_version "$t")
		if wait_version "$t" "$v"; then same "$t" "step $step (version $v)"
		else bad "$t step $step: version $v not applied ($(state_version "$t"))"; fi
	done
done

# an added column, then OPTIMIZE, then a burst of 10 commits while following
for t in $tables; do
	drv "$t" addcol && wait_version "$t" "$(model_version "$t")" &&
		same "$t" "added column (version $(model_version "$t"))"
	drv "$t" optimize && wait_version "$t" "$(model_version "$t")" &&
		same "$t" "after OPTIMIZE (version $(model_version "$t"))"
	drv "$t" step 10 && wait_version "$t" "$(model_version "$t")" &&
		same "$t" "burst of 10 commits (version $(model_version "$t"))" ||
		bad "$t burst not followed"
done
lk_psql -At -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 't_cdf'::regclass AND attname = 'extra'" | grep -qx text &&
	ok "added column is text" || bad "added column missing"

# a lost connection: continuous mode reconnects and goes on from the state row
n=$(lk_psql -At -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE application_name = 'lakesync' AND pid <> pg_backend_pid()")
[ "$n" -ge 3 ] && ok "terminated the $n lakesync connections" || bad "only $n lakesync connections to terminate"
for t in $tables; do
	drv "$t" step 2 && wait_version "$t" "$(model_version "$t")" &&
		same "$t" "after a lost connection (version $(model_version "$t"))" ||
		bad "$t not followed after a lost connection: $(tail -3 "$work/$t.follow.log")"
	grep -q "reconnected; resuming after version" "$work/$t.follow.log" &&
		ok "$t reconnected" || bad "$t: no reconnect in the log"
done

# SIGTERM stops continuous mode cleanly
for t in $tables; do
	eval "p=\$pid_$t"
	kill -TERM "$p"
	if wait "$p"; then ok "$t continuous stops on SIGTERM (exit 0)"
	else bad "$t continuous exit $? on SIGTERM"; sed 's/^/    /' "$work/$t.follow.log"; fi
done
pids=()

# read-only: the guard trigger and the revoked privileges
out=$(lk_psql -c "INSERT INTO t_cdf (id) VALUES (-1)" 2>&1)
echo "$out" | grep -q 'is a synced table maintained by lakesync and is read-only' &&
	ok "owner INSERT refused by the guard" || bad "owner INSERT not refused: $out"
out=$(lk_psql -c "TRUNCATE t_cdf" 2>&1)
echo "$out" | grep -q 'read-only' && ok "TRUNCATE refused" || bad "TRUNCATE not refused: $out"
lk_psql -q -c "CREATE ROLE app LOGIN; GRANT SELECT ON t_cdf TO app"
out=$(PGUSER=app lk_psql -c "DELETE FROM t_cdf" 2>&1)
echo "$out" | grep -q 'permission denied' && ok "app DELETE: permission denied" ||
	bad "app DELETE not denied: $out"
same t_cdf "unchanged after refused writes"

# a snapshot refresh swaps in a new table and keeps the grants and owner
lk_psql -q -c "CREATE ROLE owner2; ALTER TABLE t_cdf OWNER TO owner2; GRANT SELECT ON t_cdf TO app"
# secondary indexes an operator added survive the refresh (an index on a
# column the new schema still has, a partial unique expression index with a
# name that needs quoting)
lk_psql -q -c "CREATE INDEX t_cdf_extra ON t_cdf (extra); CREATE UNIQUE INDEX \"T cdf Uq\" ON t_cdf ((id * 2)) WHERE id > 0"
idx_before=$(lk_psql -At -c "SELECT indexname || ': ' || regexp_replace(indexdef, 'INDEX \S+ ON', 'INDEX ON') FROM pg_indexes WHERE tablename = 't_cdf' ORDER BY 1")
oid1=$(lk_psql -At -c "SELECT 't_cdf'::regclass::oid")
"$bin" synced-table --source "$work/t_cdf" --target "$dsn" --table public.t_cdf --mode snapshot \
	--primary-key id >"$work/snap.log" 2>&1 || bad "snapshot refresh: $(cat "$work/snap.log")"
oid2=$(lk_psql -At -c "SELECT 't_cdf'::regclass::oid")
[ "$oid1" != "$oid2" ] && ok "snapshot refresh swapped in a new table" || bad "no new table"
same t_cdf "after snapshot refresh"
[ "$(PGUSER=app lk_psql -At -c "SELECT count(*) FROM t_cdf")" = "$(wc -l <"$work/t_cdf.expect")" ] &&
	ok "grant SELECT to app kept" || bad "grant lost"
[ "$(lk_psql -At -c "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 't_cdf'::regclass")" = owner2 ] &&
	ok "owner kept" || bad "owner lost"
lk_psql -At -c "SELECT conname FROM pg_constraint WHERE conrelid = 't_cdf'::regclass AND contype = 'p'" |
	grep -qx t_cdf_pkey && ok "primary key t_cdf_pkey" || bad "no primary key t_cdf_pkey"
lk_psql -At -c "SELECT tgname FROM pg_trigger WHERE tgrelid = 't_cdf'::regclass" |
	grep -qx lakesync_read_only && ok "guard trigger on the new table" || bad "no guard trigger"
idx_after=$(lk_psql -At -c "SELECT indexname || ': ' || regexp_replace(indexdef, 'INDEX \S+ ON', 'INDEX ON') FROM pg_indexes WHERE tablename = 't_cdf' ORDER BY 1")
[ "$idx_before" = "$idx_after" ] && [ "$(echo "$idx_after" | wc -l)" = 3 ] &&
	ok "secondary indexes kept with their names and definitions" ||
	bad "indexes changed by the refresh: before [$idx_before] after [$idx_after]"

# time travel: --as-of an earlier version into another table
v_old=$(ls "$work"/t_dv.expect.* | sed 's/.*\.//' | sort -n | sed -n 3p)
cp "$work/t_dv.expect.$v_old" "$work/asof.expect"
"$bin" synced-table --source "$work/t_dv" --target "$dsn" --table public.t_asof --mode snapshot \
	--as-of "$v_old" >"$work/asof.log" 2>&1 || bad "as-of: $(cat "$work/asof.log")"
grep -q "to version $v_old " "$work/asof.log" && ok "as-of loads version $v_old" || bad "as-of version"
same t_asof "as-of version $v_old" "$work/asof.expect"

# triggered: the first run loads a snapshot, the next one applies versions
drv t_cow step 2
"$bin" synced-table --source "$work/t_cow" --target "$dsn" --table public.t_trig --mode triggered \
	--primary-key id >"$work/trig1.log" 2>&1 && grep -q "snapshot:" "$work/trig1.log" &&
	ok "triggered: first run loads a snapshot" || bad "triggered first run: $(cat "$work/trig1.log")"
drv t_cow step 3
"$bin" synced-table --source "$work/t_cow" --target "$dsn" --table public.t_trig --mode triggered \
	>"$work/trig2.log" 2>&1 && grep -q "(3 versions applied" "$work/trig2.log" &&
	ok "triggered: applies the 3 new versions (primary key from the state)" ||
	bad "triggered second run: $(cat "$work/trig2.log")"
same t_trig "triggered" "$work/t_cow.expect"

# duplicate keys: an error without --dedup-by (nothing applied), latest
# wins with --dedup-by ts
drv t_dv dup
v=$(model_version t_dv)
before=$(state_version t_dv)
"$bin" synced-table --source "$work/t_dv" --target "$dsn" --table public.t_dv --mode triggered \
	--primary-key id >"$work/dup.log" 2>&1
rc=$?
[ $rc = 3 ] && grep -q 'breaks the primary key' "$work/dup.log" &&
	ok "duplicate keys: exit 3, message names the key" || bad "duplicate keys: exit $rc $(cat "$work/dup.log")"
[ "$(state_version t_dv)" = "$((v - 1))" ] && ok "duplicate keys: version $v not applied" ||
	bad "duplicate keys: state $(state_version t_dv) (was $before)"
"$bin" synced-table --source "$work/t_dv" --target "$dsn" --table public.t_dedup --mode snapshot \
	--primary-key id --dedup-by ts >"$work/dedup.log" 2>&1 || bad "dedup snapshot: $(cat "$work/dedup.log")"
same t_dedup "snapshot --dedup-by ts (latest wins)" "$work/t_dv.expect"
"$bin" synced-table --source "$work/t_dv" --target "$dsn" --table public.t_dedup2 --mode snapshot \
	--primary-key id >"$work/dedup2.log" 2>&1
rc=$?
[ $rc = 3 ] && ! lk_psql -At -c "SELECT 1 FROM pg_class WHERE relname = 't_dedup2'" | grep -q 1 &&
	ok "snapshot with duplicate keys: exit 3, no table" || bad "snapshot duplicates: exit $rc"

# a changed column type needs a full refresh in triggered mode
drv t_cow step 1
"$bin" synced-table --source "$work/t_cow" --target "$dsn" --table public.t_trig --mode triggered \
	--column-type score=numeric >"$work/type.log" 2>&1
rc=$?
[ $rc = 4 ] && grep -q 'full refresh is needed' "$work/type.log" &&
	ok "type change in triggered mode: exit 4, full refresh needed" ||
	bad "type change: exit $rc $(cat "$work/type.log")"
"$bin" synced-table --source "$work/t_cow" --target "$dsn" --table public.t_trig --mode snapshot \
	--primary-key id --column-type score=numeric >"$work/type2.log" 2>&1 &&
	[ "$(lk_psql -At -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't_trig'::regclass AND attname = 'score'")" = numeric ] &&
	ok "snapshot mode refreshes with --column-type score=numeric" || bad "type refresh: $(cat "$work/type2.log")"

# usage errors
"$bin" synced-table --source "$work/t_cow" --target "$dsn" --table public.x --mode continuous \
	>"$work/u.log" 2>&1
rc=$?
[ $rc = 2 ] && grep -q 'needs a primary key' "$work/u.log" && ok "continuous without a key: exit 2" ||
	bad "continuous without key: exit $rc $(cat "$work/u.log")"
exit $fail
