#!/usr/bin/env bash
# delta_crash.sh — SIGKILL a Delta writer at random points, ≥ 200 scripted
# trials: appends (several commits of 4 rows, each with a txn marker; every
# 3rd commit also deletes a row of the previous batch by deletion vector;
# automatic checkpoint every 4 versions), explicit checkpoints and
# OPTIMIZE runs, each killed (the whole process group) after a random 0–200
# ms.  After every kill the table must open and hold exactly the rows of the
# committed batches — the ones up to the txn marker, each once, deleted rows
# gone — with contiguous versions, complete commit files and readable
# checkpoints (the driver's `verify`).  Appends resume after their txn
# marker, so the table grows across trials.  At the end a VACUUM removes the
# debris of killed writers and the table verifies again.
#   DELTA_CRASH_TRIALS=N   (default 200)
# Prints PASS/FAIL/SKIP lines; exit 0 iff no FAIL.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$BUILD/tests/test_delta_write
TRIALS=${DELTA_CRASH_TRIALS:-200}
if [ ! -x "$bin" ]; then
	make -s "$bin" >/dev/null 2>&1 || { echo "FAIL delta-crash: cannot build $bin"; exit 1; }
fi
command -v setsid >/dev/null || { echo "SKIP delta-crash: setsid not found"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lk-delta-crash.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t=$tmp/table
drv() { LAKESYNC_DELTA_DRIVER="$1" "$bin" --filter driver/run; }
verify() { drv "verify table=$t apps=a rows=4 del=3" >"$tmp/verify.out" 2>&1; }

if ! drv "append table=$t n=3 rows=4 app=a del=3 interval=4" >"$tmp/init.out" 2>&1 || ! verify; then
	echo "FAIL delta-crash/setup"; cat "$tmp/init.out" "$tmp/verify.out" | tail -20; exit 1
fi
killed=0 finished=0 fail=0
# Kill moments are drawn from [0, window) ms; the window follows how long
# runs take on this machine (shrinks after a run that finished first, grows
# after a kill), so kills land inside runs on fast and slow machines alike.
window=200
declare -A kinds=()
start=$SECONDS
for i in $(seq 1 "$TRIALS"); do
	r=$((RANDOM % 100))
	if [ $r -lt 70 ]; then
		kind=append mode="append table=$t n=$((2 + RANDOM % 5)) rows=4 app=a del=3 interval=4"
	elif [ $r -lt 85 ]; then
		kind=optimize mode="optimize table=$t"
	else
		kind=checkpoint mode="checkpoint table=$t"
	fi
	kinds[$kind]=$((${kinds[$kind]:-0} + 1))
	LAKESYNC_DELTA_DRIVER="$mode" setsid "$bin" --filter driver/run >"$tmp/run.out" 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % window)))"
	if kill -KILL -- "-$pid" 2>/dev/null; then
		killed=$((killed + 1))
		window=$(( window * 5 / 4 > 900 ? 900 : window * 5 / 4 ))
	else
		finished=$((finished + 1))
		window=$(( window * 3 / 4 < 8 ? 8 : window * 3 / 4 ))
	fi
	wait "$pid" 2>/dev/null
	if ! verify; then
		echo "FAIL delta-crash/trial-$i ($kind, killed): the table does not verify"
		tail -20 "$tmp/verify.out"
		ls -la "$t/_delta_log" | tail -8
		fail=1
		break
	fi
done
if [ $fail = 0 ]; then
	echo "PASS delta-crash/trials: $TRIALS trials (append ${kinds[append]:-0}, optimize" \
		"${kinds[optimize]:-0}, checkpoint ${kinds[checkpoint]:-0}): $killed killed while" \
		"running, $finished had finished; $(grep '^verify ok' "$tmp/verify.out") in $((SECONDS - start))s"
	if drv "vacuum table=$t" >"$tmp/vac.out" 2>&1 && verify; then
		echo "PASS delta-crash/vacuum: $(grep '^vacuum' "$tmp/vac.out"), table still verifies"
	else
		echo "FAIL delta-crash/vacuum"; cat "$tmp/vac.out" "$tmp/verify.out" | tail -20; fail=1
	fi
	if [ $killed -lt $((TRIALS / 4)) ]; then
		echo "FAIL delta-crash/coverage: only $killed of $TRIALS runs were killed while running"
		fail=1
	fi
fi
exit $fail
