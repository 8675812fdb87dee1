#!/usr/bin/env bash
# Run every test suite and end with one summary line "N passed, N failed, N skipped".
#   unit     build/tests/test_*           (Criterion, one binary per module)
#   fuzz     build/tests/replay_*         (each fuzz target over tests/fuzz/corpus/<name>)
#   scripts  tests/integration/*.sh, tests/oracle/*.sh
#            each prints "PASS name" / "FAIL name" / "SKIP name" lines;
#            a script that exits non-zero without a FAIL line counts as one failure;
#            JOBS script suites run at once (default 2).
# Run one suite: tests/run-all.sh unit|fuzz|scripts, or one file by path.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export LAKESYNC_BIN="$PWD/$BUILD/lakesync"
export LAKESYNC_TESTDATA=${LAKESYNC_TESTDATA:-$PWD/../shared/testdata}
only=${1:-all}
pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run_unit() {
	local bin=$1 name out
	name=$(basename "$bin")
	out="$log/$name.out"
	"$bin" --jobs 2 >"$out" 2>&1
	local rc=$?
	local line
	line=$(grep -a "Synthesis:" "$out" | tail -1)
	local t p f c
	t=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line")
	p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
	f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
	c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
	if [ -z "$line" ]; then
		echo "FAIL $name (no Criterion summary, exit $rc)"; cat "$out"
		fail=$((fail + 1)); failed+=("$name"); return
	fi
	pass=$((pass + p)); fail=$((fail + f + c))
	local sk=$(( t - p - f - c )); [ $sk -gt 0 ] && skip=$((skip + sk))
	if [ "$f" != 0 ] || [ "$c" != 0 ] || [ $rc -ne 0 ]; then
		cat "$out"; failed+=("$name")
		[ "$f$c" = "00" ] && { fail=$((fail + 1)); }
	fi
	echo "unit  $name: $line"
}

run_replay() {
	local bin=$1 name corpus
	name=${bin##*/replay_}
	corpus="tests/fuzz/corpus/$name"
	if "$bin" "$corpus" >"$log/replay_$name.out" 2>&1; then
		pass=$((pass + 1)); echo "fuzz  $name: $(tail -1 "$log/replay_$name.out")"
	else
		fail=$((fail + 1)); failed+=("replay_$name"); cat "$log/replay_$name.out"
	fi
}

# Run one script suite into $log/<name>.out and .rc (may run in the background).
exec_script() {
	local s=$1
	local out="$log/$(echo "$s" | tr / _)"
	local t0=$SECONDS
	bash "$s" >"$out.out" 2>&1
	echo $? >"$out.rc"
	echo $((SECONDS - t0)) >"$out.time"
}

# Count a finished suite's PASS/FAIL/SKIP lines.
tally_script() {
	local s=$1
	local out="$log/$(echo "$s" | tr / _)"
	local rc p f k
	rc=$(cat "$out.rc")
	p=$(grep -c '^PASS ' "$out.out"); f=$(grep -c '^FAIL ' "$out.out"); k=$(grep -c '^SKIP ' "$out.out")
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + k))
	if [ "$rc" -ne 0 ] && [ "$f" = 0 ]; then fail=$((fail + 1)); f=1; fi
	if [ "$f" != 0 ]; then
		failed+=("$s"); cat "$out.out"
	else
		grep '^SKIP ' "$out.out"
	fi
	echo "suite $s: $p passed, $f failed, $k skipped ($(cat "$out.time") s, exit $rc)"
}

# Script suites run $JOBS at a time (default 2): each starts its own
# Postgres cluster on a free port and its own temp directories.
run_scripts() {
	local jobs=${JOBS:-2} running=0 s
	for s in "$@"; do
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
		exec_script "$s" &
		running=$((running + 1))
	done
	wait
	for s in "$@"; do tally_script "$s"; done
}

if [ -f "$only" ]; then
	run_scripts "$only"
else
	if [ "$only" = all ] || [ "$only" = unit ]; then
		for b in "$BUILD"/tests/test_*; do [ -x "$b" ] && run_unit "$b"; done
	fi
	if [ "$only" = all ] || [ "$only" = fuzz ]; then
		for b in "$BUILD"/tests/replay_*; do [ -x "$b" ] && run_replay "$b"; done
	fi
	if [ "$only" = all ] || [ "$only" = scripts ]; then
		suites=()
		for s in tests/integration/*.sh tests/oracle/*.sh; do
			case "$s" in */lib.sh) continue ;; esac
			[ -f "$s" ] && suites+=("$s")
		done
		run_scripts "${suites[@]}"
	fi
fi

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
