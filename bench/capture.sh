#!/usr/bin/env bash
# bench/capture.sh — Lakehouse Sync (PostgreSQL → Delta) against the
# PostgreSQL tools that move the same bytes, printed as ratios in one run.
# Numbers only: nothing passes or fails on time.
#
#   bench/capture.sh                 full size (10 M-row snapshot, 1 M-row
#                                    update, 60 s at 5,000 rows/s, 5 GB
#                                    transaction): about an hour on 2 cores
#   bench/capture.sh --scale 0.01    everything 100× smaller (a minute)
#   bench/capture.sh --only "1 3"    some of the five measurements
#   UH_ROWS=1000000 UH_UPDATES=100000 bench/capture.sh --only 5
#                                    the update-heavy case at 1 M rows
#   bench/capture.sh --repeat 3      measurement 1: each side 3 times,
#                                    alternating; medians are shown
#   bench/capture.sh --keep          keep the work directory
#
# Setup: a throwaway PostgreSQL 15 (tests/integration/lib.sh: fsync off,
# plus shared_buffers 512MB, max_wal_size 16GB, logical_decoding_work_mem
# 64MB); `make build/lakesync build/bench/capture`.  Times are wall clock
# of the whole client process, with its CPU seconds (user + system, all
# threads) in parentheses; server-side work (walsender, COPY) is not in
# the CPU figures of either side (measurement 1 shows it beside them).
#
# 1 snapshot   table snap (id bigint PK, int, bigint, double, numeric(12,2),
#              ~45-character text, timestamptz), 10 M rows (~1.1 GB), read
#              once untimed (cache warm).  Reference: `psql -c "COPY snap
#              TO STDOUT" > /dev/null` (one connection, text).  lakesync:
#              `lakesync sync --until-caught-up` on a new pipeline (slot
#              with exported snapshot, parallel binary COPY of ctid ranges,
#              Parquet, Delta commit, streaming to the start position) with
#              --jobs 1 and --jobs $(nproc); the snapshot phase alone is
#              also shown (from lakesync's log).  With --repeat N the three
#              run N times in turn and the medians are shown.  Server CPU:
#              CPU seconds of the backends that ran the command (exited by
#              then: the postmaster's reaped-children time, before and
#              after; autovacuum is off for the table so that no worker
#              exits in between).  For context only: psql COPY in the
#              binary format.
#              Goal: ≤ 1.3× COPY.
# 2 drain      table upd (1 M rows) synced by lakesync (untimed), then two
#              more slots created at the same point for pg_recvlogical
#              (pgoutput, -o proto_version=2 -o publication_names=
#              lakesync_drain, into /dev/null; one without and one with
#              -o streaming=on), then `UPDATE upd SET v = v + 1` (one
#              transaction, 1 M changes).  Timed: draining each slot up to
#              the WAL position after the update — lakesync with `sync
#              --until-caught-up` (decode, history rows, Parquet, Delta
#              commit; requests streaming, so it spills the transaction
#              itself), pg_recvlogical with --endpos.  Goal: ≤ 1.1×
#              pg_recvlogical.
# 3 freshness  `lakesync sync` running continuously on table fresh; a
#              steady 5,000 rows/s for 60 s (transactions of 50 rows) by
#              build/bench/capture fresh, which notes when each
#              transaction's Delta version becomes visible (polling the log
#              every 5 ms; see bench/capture.c).  With the default
#              flush_interval (1000 ms) and with 250 ms.  Goal: p50 ≤ 500
#              ms, p99 ≤ 1.5 s.
# 4 memory     `lakesync sync` running continuously on table bigtx while one
#              transaction inserts 5 GB (~1 KB rows); peak RSS (VmHWM) of
#              the lakesync process once that transaction is in Delta.
#              Goal: ≤ 256 MB.
# 5 update-heavy  mirror vs history mode on the same WAL: 1 M random
#              updates over a 10 M-row table (UH_ROWS, UH_UPDATES, UH_TXN);
#              drain time and peak RSS of each mode, files before and after
#              compaction.  Goal: mirror ≤ 2× history.  Method: the section
#              "5 update-heavy" below.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
scale=1
keep=0
only="1 2 3 4 5"
repeat=1
while [ $# -gt 0 ]; do
	case $1 in
	--scale) scale=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: bench/capture.sh [--scale X] [--only \"1 2 3 4 5\"] [--repeat N] [--keep]" >&2; exit 2 ;;
	esac
done
want() { case " $only " in *" $1 "*) return 0 ;; esac; return 1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
rows_snap=$(calc '%d' "int(10000000 * $scale + 0.5)")
rows_upd=$(calc '%d' "int(1000000 * $scale + 0.5)")
fresh_s=$(calc '%d' "int(60 * $scale + 0.5) < 10 ? 10 : int(60 * $scale + 0.5)")
big_rows=$(calc '%d' "int(5000000000 * $scale / 1000 + 0.5)")   # ~1,000 bytes a row
nproc=$(nproc 2>/dev/null || echo 2)

. "$root/tests/integration/lib.sh"
(cd "$root" && make -s build/lakesync build/bench/capture) || exit 1
bin=$root/build/lakesync
helper=$root/build/bench/capture
pg_start "shared_buffers = 512MB" "max_wal_size = 16GB" "checkpoint_timeout = 30min" \
	"logical_decoding_work_mem = 64MB" "wal_sender_timeout = 60s" ||
	{ echo "bench/capture: no PostgreSQL" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-bench-capture.XXXXXX")
chmod 755 "$work"
bgpid=
cleanup() {
	[ -n "$bgpid" ] && kill -9 "$bgpid" 2>/dev/null
	wait 2>/dev/null
	pg_stop
	if [ $keep = 1 ]; then echo "bench/capture: files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
sql() { lk_psql -At -c "$1"; }
results=()
row() { results+=("| $1 | $2 | $3 | $4 | $5 |"); }
LAKESYNC_LOG=info
export LAKESYNC_LOG

# timed LABEL CMD…: runs CMD (stdout to $work/LABEL.out, stderr to
# $work/LABEL.err); sets T_WALL, T_CPU (user+sys) of the command
timed() {
	local label=$1
	shift
	local TIMEFORMAT='%R %U %S'
	local t
	t=$( { time "$@" >"$work/$label.out" 2>"$work/$label.err"; } 2>&1 )
	T_RC=$?
	T_WALL=$(awk '{ printf "%.2f", $1 }' <<<"$t")
	T_CPU=$(awk '{ printf "%.2f", $2 + $3 }' <<<"$t")
}
ratio() { calc '%.2f' "$1 / $2"; }
mib() { calc '%.0f' "$1 / 1024"; }

echo "bench/capture: scale $scale; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $(sql 'SHOW server_version')" >&2

# ---- 1 snapshot -------------------------------------------------------------------
# CPU seconds of the server's exited processes (the postmaster's reaped
# children: utime + stime of the waited-for children)
server_cpu() {
	local pm
	pm=$(head -1 "$LK_PG_DIR/data/postmaster.pid")
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' "/proc/$pm/stat"
}
# timed_server LABEL CMD…: timed, plus T_SRV (server CPU of the command's
# backends, once they have exited and been reaped)
timed_server() {
	local s0
	s0=$(server_cpu)
	timed "$@"
	sleep 0.5
	T_SRV=$(calc '%.2f' "$(server_cpu) - $s0")
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if want 1; then
	echo "bench/capture: 1 snapshot: generating $rows_snap rows" >&2
	sql "CREATE TABLE snap (id bigint PRIMARY KEY, a int, b bigint, c double precision,
		d numeric(12,2), e text, f timestamptz) WITH (autovacuum_enabled = off)" >/dev/null
	sql "INSERT INTO snap SELECT g, g % 1000, g * 7, g / 3.0, (g % 100000) / 100.0,
		md5(g::text) || ' note ' || (g % 977), '2024-01-01'::timestamptz + g * interval '1 second'
		FROM generate_series(1, $rows_snap) g" >/dev/null
	sql "VACUUM ANALYZE snap" >/dev/null
	sql "CHECKPOINT" >/dev/null
	size=$(sql "SELECT pg_size_pretty(pg_table_size('snap'))")
	psql -X -q -c "COPY snap TO STDOUT" >/dev/null          # warm the cache
	jobs_list=1
	[ "$nproc" -gt 1 ] && jobs_list="1 $nproc"
	declare -A W=() C=() S=() P=()
	for r in $(seq 1 "$repeat"); do
		timed_server copy psql -X -q -c "COPY snap TO STDOUT"
		W[copy]+=" $T_WALL" C[copy]+=" $T_CPU" S[copy]+=" $T_SRV"
		line="round $r: COPY $T_WALL s"
		timed_server copyb psql -X -q -c "COPY snap TO STDOUT WITH (FORMAT binary)"
		W[copyb]+=" $T_WALL" C[copyb]+=" $T_CPU" S[copyb]+=" $T_SRV"
		for j in $jobs_list; do
			rm -rf "$work/lake1_$j"
			timed_server "snap_j$j" "$bin" sync --source "$dsn" --target "$work/lake1_$j" \
				--table public.snap --pipeline "snap$j" --until-caught-up --jobs "$j"
			if [ "$T_RC" != 0 ]; then
				echo "bench/capture: lakesync sync (snapshot, jobs $j) failed:" >&2
				tail -5 "$work/snap_j$j.err" >&2
				W[j$j]+=" failed"
			else
				W[j$j]+=" $T_WALL" C[j$j]+=" $T_CPU" S[j$j]+=" $T_SRV"
				P[j$j]+=" $(sed -n 's/.*snapshot of public.snap: .* in \([0-9.]*\) s.*/\1/p' "$work/snap_j$j.err" | tail -1)"
			fi
			line+=", jobs $j $T_WALL s"
			"$bin" sync --source "$dsn" --pipeline "snap$j" --drop >/dev/null 2>&1
			rm -rf "$work/lake1_$j"
		done
		echo "bench/capture: 1 snapshot $line" >&2
	done
	note=
	[ "$repeat" -gt 1 ] && note=", median of $repeat"
	copy_wall=$(median <<<"${W[copy]}")
	row "1 snapshot $rows_snap rows ($size), COPY TO STDOUT > /dev/null$note" "" \
		"$copy_wall s ($(median <<<"${C[copy]}"); server $(median <<<"${S[copy]}"))" "" ""
	row "1 … for context: COPY TO STDOUT (FORMAT binary) > /dev/null" "" \
		"$(median <<<"${W[copyb]}") s ($(median <<<"${C[copyb]}"); server $(median <<<"${S[copyb]}"))" "" ""
	for j in $jobs_list; do
		if [[ "${W[j$j]}" == *failed* ]]; then
			row "1 snapshot, lakesync --jobs $j" "failed" "" "" ""
			continue
		fi
		wall=$(median <<<"${W[j$j]}")
		row "1 snapshot, lakesync sync --until-caught-up --jobs $j$note" \
			"$wall s ($(median <<<"${C[j$j]}"); server $(median <<<"${S[j$j]}"))" \
			"$copy_wall s" "$(ratio "$wall" "$copy_wall")" "≤ 1.3"
		snap_s=$(median <<<"${P[j$j]}")
		[ -n "$snap_s" ] && row "1 … of which the snapshot phase (lakesync log)" "$snap_s s" \
			"$copy_wall s" "$(ratio "$snap_s" "$copy_wall")" ""
		echo "bench/capture: 1 snapshot jobs $j: wall${W[j$j]}; CPU${C[j$j]}; server${S[j$j]}" >&2
	done
	echo "bench/capture: 1 snapshot COPY: wall${W[copy]}; CPU${C[copy]}; server${S[copy]}" >&2
	echo "bench/capture: 1 snapshot COPY binary: wall${W[copyb]}; CPU${C[copyb]}; server${S[copyb]}" >&2
	sql "DROP TABLE snap" >/dev/null
	sql "CHECKPOINT" >/dev/null
fi

# ---- 2 drain ----------------------------------------------------------------------
if want 2; then
	echo "bench/capture: 2 drain: $rows_upd-row update" >&2
	sql "CREATE TABLE upd (id bigint PRIMARY KEY, v int, pad text)" >/dev/null
	sql "INSERT INTO upd SELECT g, 0, md5(g::text) FROM generate_series(1, $rows_upd) g" >/dev/null
	lake2="$work/lake2"
	if ! "$bin" sync --source "$dsn" --target "$lake2" --table public.upd --pipeline drain \
			--until-caught-up >"$work/drain_setup.out" 2>&1; then
		echo "bench/capture: lakesync sync (drain setup) failed:" >&2
		tail -5 "$work/drain_setup.out" >&2
	else
		pg_recvlogical -d "$dsn" --slot bench_recv --create-slot -P pgoutput 2>/dev/null
		pg_recvlogical -d "$dsn" --slot bench_recv_s --create-slot -P pgoutput 2>/dev/null
		sql "UPDATE upd SET v = v + 1" >/dev/null
		end=$(sql "SELECT pg_current_wal_insert_lsn()")
		wal=$(sql "SELECT pg_size_pretty(pg_wal_lsn_diff('$end', confirmed_flush_lsn)) FROM pg_replication_slots WHERE slot_name = 'bench_recv'")
		timed drain_lakesync "$bin" sync --source "$dsn" --target "$lake2" --table public.upd \
			--pipeline drain --until-caught-up
		ls_wall=$T_WALL ls_cpu=$T_CPU ls_rc=$T_RC
		timed drain_recv timeout 3600 pg_recvlogical -d "$dsn" --slot bench_recv --start \
			-o proto_version=2 -o publication_names=lakesync_drain -E "$end" --no-loop -f /dev/null
		rv_wall=$T_WALL rv_cpu=$T_CPU
		timed drain_recv_s timeout 3600 pg_recvlogical -d "$dsn" --slot bench_recv_s --start \
			-o proto_version=2 -o publication_names=lakesync_drain -o streaming=on -E "$end" \
			--no-loop -f /dev/null
		rs_wall=$T_WALL rs_cpu=$T_CPU
		rows_in=$("$bin" delta scan "$lake2/public/upd_history" --format csv 2>/dev/null | wc -l)
		if [ "$ls_rc" != 0 ]; then
			row "2 drain, lakesync" "failed (exit $ls_rc)" "" "" ""
			tail -5 "$work/drain_lakesync.err" >&2
		else
			row "2 drain after a $rows_upd-row UPDATE ($wal of WAL), lakesync sync --until-caught-up" \
				"$ls_wall s ($ls_cpu)" "pg_recvlogical $rv_wall s ($rv_cpu)" \
				"$(ratio "$ls_wall" "$rv_wall")" "≤ 1.1"
			row "2 … pg_recvlogical with -o streaming=on" "$ls_wall s" "$rs_wall s ($rs_cpu)" \
				"$(ratio "$ls_wall" "$rs_wall")" ""
		fi
		echo "bench/capture: 2 drain: history table rows (CSV lines incl. header): $rows_in" >&2
		pg_recvlogical -d "$dsn" --slot bench_recv --drop-slot 2>/dev/null
		pg_recvlogical -d "$dsn" --slot bench_recv_s --drop-slot 2>/dev/null
		"$bin" sync --source "$dsn" --pipeline drain --drop >/dev/null 2>&1
	fi
	sql "DROP TABLE upd" >/dev/null
	rm -rf "$lake2"
	sql "CHECKPOINT" >/dev/null
fi

# ---- 3 freshness --------------------------------------------------------------------
if want 3; then
	sql "CREATE TABLE fresh (id bigserial PRIMARY KEY, ts timestamptz NOT NULL, payload text)" >/dev/null
	lake3="$work/lake3"
	for fi_ms in 1000 250; do
		echo "bench/capture: 3 freshness: 5,000 rows/s for $fresh_s s, flush_interval $fi_ms ms" >&2
		flag=()
		[ "$fi_ms" != 1000 ] && flag=(--flush-interval-ms "$fi_ms")
		"$bin" sync --source "$dsn" --target "$lake3" --table public.fresh --pipeline fresh \
			"${flag[@]}" >"$work/fresh_$fi_ms.log" 2>&1 &
		bgpid=$!
		if ! "$helper" waitlsn "$lake3/public/fresh_history" lakesync/fresh/public.fresh 0/1 60 >/dev/null; then
			echo "bench/capture: lakesync did not start:" >&2
			tail -5 "$work/fresh_$fi_ms.log" >&2
			row "3 freshness, flush $fi_ms ms" "failed" "" "" ""
		else
			out=$("$helper" fresh "$dsn" public.fresh "$lake3/public/fresh_history" \
				lakesync/fresh/public.fresh --rate 5000 --seconds "$fresh_s" --batch 50)
			echo "bench/capture: $out" >&2
			p50=$(sed -n 's/.*p50_ms=\([0-9-]*\).*/\1/p' <<<"$out")
			p99=$(sed -n 's/.*p99_ms=\([0-9-]*\).*/\1/p' <<<"$out")
			rate=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$out")
			pend=$(sed -n 's/.*pending=\([0-9]*\).*/\1/p' <<<"$out")
			note=
			[ "${pend:-0}" != 0 ] && note=" ($pend transactions not visible 10 s after the end)"
			row "3 freshness at $rate rows/s (50-row transactions, $fresh_s s), flush_interval $fi_ms ms" \
				"p50 $p50 ms, p99 $p99 ms$note" "" "" \
				"p50 ≤ 500 ms, p99 ≤ 1500 ms"
		fi
		kill -TERM "$bgpid" 2>/dev/null
		wait "$bgpid" 2>/dev/null
		bgpid=
	done
	"$bin" sync --source "$dsn" --pipeline fresh --drop >/dev/null 2>&1
	sql "DROP TABLE fresh" >/dev/null
	rm -rf "$lake3"
fi

# ---- 4 memory -------------------------------------------------------------------------
if want 4; then
	sql "CREATE TABLE bigtx (id bigint, payload text)" >/dev/null
	lake4="$work/lake4"
	"$bin" sync --source "$dsn" --target "$lake4" --table public.bigtx --pipeline bigtx \
		>"$work/bigtx.log" 2>&1 &
	bgpid=$!
	if ! "$helper" waitlsn "$lake4/public/bigtx_history" lakesync/bigtx/public.bigtx 0/1 60 >/dev/null; then
		echo "bench/capture: lakesync did not start:" >&2
		tail -5 "$work/bigtx.log" >&2
		row "4 peak RSS" "failed" "" "" ""
	else
		echo "bench/capture: 4 memory: one transaction of $big_rows rows (~1 KB each)" >&2
		t0=$(date +%s.%N)
		lsn=$(lk_psql -At -c "BEGIN" \
			-c "INSERT INTO bigtx SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, $big_rows) g" \
			-c "SELECT pg_current_wal_insert_lsn()" -c "COMMIT" | grep '/')
		t1=$(date +%s.%N)
		size=$(sql "SELECT pg_size_pretty(pg_table_size('bigtx'))")
		if "$helper" waitlsn "$lake4/public/bigtx_history" lakesync/bigtx/public.bigtx "$lsn" 7200 \
				>"$work/bigtx_wait.out"; then
			t2=$(date +%s.%N)
			hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$bgpid/status")
			row "4 peak RSS (VmHWM) while one $size transaction ($big_rows rows) streams into Delta" \
				"$(mib "$hwm") MiB" "" "" "≤ 256 MB"
			echo "bench/capture: 4 memory: insert $(calc '%.0f' "$t1 - $t0") s, in Delta" \
				"$(calc '%.0f' "$t2 - $t1") s after the commit" >&2
		else
			row "4 peak RSS" "not in Delta after 2 h" "" "" ""
		fi
	fi
	kill -TERM "$bgpid" 2>/dev/null
	wait "$bgpid" 2>/dev/null
	bgpid=
	"$bin" sync --source "$dsn" --pipeline bigtx --drop >/dev/null 2>&1
	sql "DROP TABLE bigtx" >/dev/null
	rm -rf "$lake4"
fi

# ---- 5 update-heavy: mirror vs history on the same WAL ---------------------------------
# (issue 5.)  Table uh (id bigint PK, int, int, ~32-char text, short text),
# UH_ROWS rows (default 10 M × scale), snapshotted by two pipelines — one
# --mode history, one --mode mirror, each with its own slot and lakehouse
# root — BEFORE the updates, so both slots hold exactly the same WAL: then
# UH_UPDATES row updates (default 1 M × scale) at random rows, in
# transactions of UH_TXN (default 500) updated rows (a procedure: UPDATE … WHERE
# id IN (random ids), COMMIT, until the count is reached).  Timed: each
# pipeline's `sync --until-caught-up` drain of that WAL (the WAL files read
# once before each, so both find them in the page cache), under
# `capture rusage` (wall, CPU, peak RSS).  Then the mirror table's live data
# files (and files with a DV), compacted — by the daemon's maintenance if its
# log already has OPTIMIZE commits, else `lakesync delta optimize`, as the
# table says — and counted again.  At ≤ 2 M rows (or UH_CHECK=1) the mirror
# table is checked against Postgres by tests/oracle/mirror_check.mjs.
# UH_MIRROR_OPTS adds options to the timed mirror drain (e.g.
# "--index-memory 1G": how much of the cost is the index spilling).
if want 5; then
	uh_rows=${UH_ROWS:-$rows_snap}
	uh_updates=${UH_UPDATES:-$rows_upd}
	uh_txn=${UH_TXN:-500}
	uh_check=${UH_CHECK:-$([ "$uh_rows" -le 2000000 ] && echo 1 || echo 0)}
	lake5h="$work/lake5h" lake5m="$work/lake5m"
	echo "bench/capture: 5 update-heavy: $uh_rows rows, $uh_updates updates in transactions of $uh_txn" >&2
	sql "CREATE TABLE uh (id bigint PRIMARY KEY, a int, b int, c text, d text)" >/dev/null
	sql "INSERT INTO uh SELECT g, g % 1000, (g * 7) % 100000, md5(g::text), 'row ' || g
		FROM generate_series(1, $uh_rows) g" >/dev/null
	sql "VACUUM ANALYZE uh" >/dev/null
	sql "CHECKPOINT" >/dev/null
	uh_ok=1
	for m in history mirror; do
		lk=$lake5h; [ $m = mirror ] && lk=$lake5m
		"$helper" rusage "$work/uh_snap_$m.ru" "$bin" sync --source "$dsn" --target "$lk" --table public.uh \
			--pipeline "uh_$m" --mode $m --until-caught-up >"$work/uh_snap_$m.out" 2>"$work/uh_snap_$m.err"
		rc=$?
		if [ $rc != 0 ]; then
			echo "bench/capture: 5: lakesync sync --mode $m (snapshot) failed (exit $rc):" >&2
			tail -5 "$work/uh_snap_$m.err" >&2
			row "5 update-heavy, --mode $m snapshot" "failed (exit $rc)" "" "" ""
			uh_ok=0
		fi
	done
	ru() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$work/$1.ru"; }
	if [ $uh_ok = 1 ]; then
		row "5 update-heavy: snapshot of $uh_rows rows (table uh), --mode mirror" \
			"$(ru uh_snap_mirror wall_s) s ($(calc '%.2f' "$(ru uh_snap_mirror user_s) + $(ru uh_snap_mirror sys_s)"))" \
			"history $(ru uh_snap_history wall_s) s" \
			"$(ratio "$(ru uh_snap_mirror wall_s)" "$(ru uh_snap_history wall_s)")" ""
		# warm-up (untimed): one update drained by both pipelines; the mirror
		# run builds its key index from the table (the snapshot run does not
		# save one) and saves it, so the timed drain measures steady state
		sql "UPDATE uh SET b = b WHERE id = 1" >/dev/null
		for m in history mirror; do
			lk=$lake5h; [ $m = mirror ] && lk=$lake5m
			"$helper" rusage "$work/uh_warm_$m.ru" "$bin" sync --source "$dsn" --target "$lk" --table public.uh \
				--pipeline "uh_$m" --mode $m --until-caught-up >"$work/uh_warm_$m.out" 2>"$work/uh_warm_$m.err" || uh_ok=0
		done
		idx=$(grep -h 'key index' "$work/uh_warm_mirror.err" | sed 's/^[0-9:.]* [a-z]*: //' | tail -1)
		row "5 … first run after the snapshot, one update (untimed warm-up), --mode mirror${idx:+ ($idx)}" \
			"$(ru uh_warm_mirror wall_s) s, peak RSS $(mib "$(ru uh_warm_mirror maxrss_kib)") MiB" \
			"history $(ru uh_warm_history wall_s) s" "" ""
		lk_psql -q <<SQL
CREATE PROCEDURE uh_updates(total int, per int, nrows bigint) LANGUAGE plpgsql AS \$\$
DECLARE done int := 0; n int;
BEGIN
	WHILE done < total LOOP
		UPDATE uh SET a = a + 1, c = md5(random()::text)
		WHERE id IN (SELECT 1 + (random() * (nrows - 1))::bigint FROM generate_series(1, least(per, total - done)));
		GET DIAGNOSTICS n = ROW_COUNT;
		done := done + n;
		COMMIT;
	END LOOP;
END \$\$;
SQL
		start=$(sql "SELECT pg_current_wal_insert_lsn()")
		t0=$(date +%s.%N)
		sql "CALL uh_updates($uh_updates, $uh_txn, $uh_rows)" >/dev/null
		t1=$(date +%s.%N)
		wal=$(sql "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$start'))")
		echo "bench/capture: 5: $uh_updates updates in $(calc '%.1f' "$t1 - $t0") s ($wal of WAL)" >&2
		for m in history mirror; do
			lk=$lake5h; [ $m = mirror ] && lk=$lake5m
			cat "$LK_PG_DIR"/data/pg_wal/0* >/dev/null 2>&1
			extra=()
			[ $m = mirror ] && [ -n "${UH_MIRROR_OPTS:-}" ] && read -r -a extra <<<"$UH_MIRROR_OPTS"
			"$helper" rusage "$work/uh_drain_$m.ru" "$bin" sync --source "$dsn" --target "$lk" --table public.uh \
				--pipeline "uh_$m" --mode $m --until-caught-up "${extra[@]}" >"$work/uh_drain_$m.out" 2>"$work/uh_drain_$m.err"
			rc=$?
			if [ $rc != 0 ]; then
				echo "bench/capture: 5: lakesync sync --mode $m (drain) failed (exit $rc):" >&2
				tail -5 "$work/uh_drain_$m.err" >&2
				row "5 update-heavy, --mode $m drain" "failed (exit $rc)" "" "" ""
				uh_ok=0
			fi
		done
	fi
	if [ $uh_ok = 1 ]; then
		hw=$(ru uh_drain_history wall_s) mw=$(ru uh_drain_mirror wall_s)
		hc=$(calc '%.2f' "$(ru uh_drain_history user_s) + $(ru uh_drain_history sys_s)")
		mc=$(calc '%.2f' "$(ru uh_drain_mirror user_s) + $(ru uh_drain_mirror sys_s)")
		row "5 … drain of $uh_updates random updates over the $uh_rows rows (transactions of $uh_txn, $wal of WAL), --mode history" \
			"$hw s ($hc), $(calc '%.0f' "$uh_updates / $hw") updates/s" "" "" ""
		row "5 … the same drain, --mode mirror (deletion vectors through the key index)${UH_MIRROR_OPTS:+, $UH_MIRROR_OPTS}" \
			"$mw s ($mc), $(calc '%.0f' "$uh_updates / $mw") updates/s" "history $hw s" "$(ratio "$mw" "$hw")" "≤ 2"
		idxdisk=$(du -sk "$lake5m/_lakesync/uh_mirror/index" 2>/dev/null | cut -f1)
		row "5 … peak RSS of the drain (ru_maxrss; key index on disk afterwards: ${idxdisk:-?} KiB)" \
			"mirror $(mib "$(ru uh_drain_mirror maxrss_kib)") MiB" \
			"history $(mib "$(ru uh_drain_history maxrss_kib)") MiB" \
			"$(ratio "$(ru uh_drain_mirror maxrss_kib)" "$(ru uh_drain_history maxrss_kib)")" ""
		row "5 … peak RSS of the snapshot run" "mirror $(mib "$(ru uh_snap_mirror maxrss_kib)") MiB" \
			"history $(mib "$(ru uh_snap_history maxrss_kib)") MiB" "" ""
		idx=$(grep -ih 'index' "$work/uh_snap_mirror.err" "$work/uh_drain_mirror.err" | tail -3)
		[ -n "$idx" ] && echo "bench/capture: 5: lakesync's index log lines:" >&2 && sed 's/^/    /' <<<"$idx" >&2
		tbl="$lake5m/public/uh"
		before=$(cd "$root/tests/oracle" && node mirror_check.mjs live "$tbl")
		fcount() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"; }
		nopt=$(grep -l '"operation":"OPTIMIZE"' "$tbl"/_delta_log/*.json 2>/dev/null | wc -l)
		if [ "$nopt" -gt 0 ]; then
			how="by the daemon ($nopt OPTIMIZE commits during the runs)"
			after=$before
			row "5 … mirror data files after the drain, compacted $how" \
				"$(fcount "$before" files) files ($(fcount "$before" withDv) with a DV, $(fcount "$before" dvRows) rows deleted by DVs)" "" "" ""
		else
			"$helper" rusage "$work/uh_opt.ru" "$bin" delta optimize "$tbl" >"$work/uh_opt.out" 2>&1
			after=$(cd "$root/tests/oracle" && node mirror_check.mjs live "$tbl")
			row "5 … mirror data files before → after compaction (\`lakesync delta optimize\`, $(ru uh_opt wall_s) s; no daemon compaction)" \
				"$(fcount "$before" files) files ($(fcount "$before" withDv) with a DV, $(fcount "$before" dvRows) rows deleted) → $(fcount "$after" files) files ($(fcount "$after" withDv) with a DV)" \
				"" "" ""
		fi
		echo "bench/capture: 5: live files before $before; after $after" >&2
		if [ "$uh_check" = 1 ]; then
			chk=$(cd "$root/tests/oracle" && LAKESYNC_BIN=$bin node mirror_check.mjs compare "bench5" "$tbl" public.uh id 2>&1)
			echo "$chk" | sed 's/^/    /' >&2
			grep -q '^FAIL' <<<"$chk" && row "5 … mirror table vs Postgres (mirror_check.mjs)" "FAILED" "" "" "" ||
				row "5 … mirror table vs Postgres (mirror_check.mjs: scan, replay, count, cdf)" "equal" "" "" ""
		fi
	fi
	"$bin" sync --source "$dsn" --pipeline uh_history --drop >/dev/null 2>&1
	"$bin" sync --source "$dsn" --pipeline uh_mirror --drop >/dev/null 2>&1
	sql "DROP TABLE uh" >/dev/null
	sql "DROP PROCEDURE IF EXISTS uh_updates" >/dev/null
	rm -rf "$lake5h" "$lake5m"
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "| measure | lakesync | reference | ratio | goal |"
echo "|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
