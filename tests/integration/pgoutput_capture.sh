#!/usr/bin/env bash
# pgoutput_capture.sh — capture real pgoutput messages from a throwaway
# PostgreSQL 15 and decode every one with our decoder.
#
# Makes inserts/updates/deletes/truncates on a table of many types, a
# replica-identity-full table, a transaction large enough to be streamed
# (logical_decoding_work_mem=64kB) with a rolled-back subtransaction, an
# aborted streamed transaction, logical decoding messages, a transaction
# with a replication origin, and (on a two-phase slot, protocol 3) prepared
# transactions committed and rolled back.  The messages are read with
# pg_logical_slot_peek_binary_changes() (one bytea per message) into a file
# of "<proto> <lsn> <hex>" lines, and the capture/* tests of
# build/tests/test_pgoutput check that each decodes fully, re-encodes to the
# same bytes, and carries the values inserted (parsed with pgtypes).
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.
#   LK_SAVE_SEEDS=DIR   also write a few messages as fuzz seeds into DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=pgoutput_capture
. "$here/lib.sh"

testbin="$root/$BUILD/tests/test_pgoutput"
if [ ! -x "$testbin" ]; then
	echo "SKIP $name (no $BUILD/tests/test_pgoutput: run make tests)"
	exit 0
fi
if ! pg_start "logical_decoding_work_mem = 64kB"; then
	echo "SKIP $name (no usable PostgreSQL 15)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-capture.XXXXXX")
trap 'pg_stop; rm -rf "$work"' EXIT
capture="$work/capture.txt"

fail=0
check() { # name, command...
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		echo "PASS $name $what"
	else
		echo "FAIL $name $what"
		sed 's/^/    /' "$work/out"
		fail=1
	fi
}

setup_sql=$(cat <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE lk_types (
	id int PRIMARY KEY,
	b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
	n numeric(12,3), nu numeric, t text, vc varchar(20), bp char(5),
	by bytea, u uuid, d date, ts timestamp, tstz timestamptz,
	tm time, iv interval, j jsonb, ai int[], at text[], m mood, dp posint,
	big text
);
CREATE TABLE lk_full (id int, v text);
ALTER TABLE lk_full REPLICA IDENTITY FULL;
CREATE TABLE lk_stream (id int PRIMARY KEY, pad text);
CREATE PUBLICATION lk_pub FOR ALL TABLES;
SELECT 'slot', pg_create_logical_replication_slot('lk_slot', 'pgoutput');
SELECT 'slot', pg_create_logical_replication_slot('lk_slot2pc', 'pgoutput', false, true);
SELECT 'origin', pg_replication_origin_create('lk_origin');
SQL
)

changes_sql=$(cat <<'SQL'
INSERT INTO lk_types VALUES
 (1, true, -32768, 2147483647, -9223372036854775808, 1.5, 0.1,
  123456789.123, 0.000000000000000000000000000001, 'héllo ☃ "q" \ end', 'abc', 'ab',
  '\x00ff00'::bytea, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2024-02-29',
  '2024-01-01 12:34:56.789', '2024-06-30 23:59:59.999999+02', '12:34:56',
  '1 day 2 hours', '{"a": [1, 2]}', '{1,NULL,3}', '{"a b",NULL,"x\"y",""}',
  'happy', 7, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 4000) g)),
 (2, false, 32767, -2147483648, 9223372036854775807, '-Infinity', 'NaN',
  -999999999.999, 'NaN', '', NULL, NULL, '\x'::bytea, NULL, 'infinity',
  '-infinity', 'infinity', NULL, NULL, NULL, '{}', '{}', 'sad', NULL, NULL),
 (3, NULL, NULL, NULL, NULL, 'Infinity', '-0', NULL, '-1e-5', NULL, NULL, NULL,
  NULL, NULL, '0044-03-15 BC', '0001-01-01 00:00:00', '0044-03-15 12:00:00+00 BC',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE lk_types SET i4 = 5 WHERE id = 1;
UPDATE lk_types SET id = 10 WHERE id = 2;
DELETE FROM lk_types WHERE id = 3;
INSERT INTO lk_full VALUES (1, 'one'), (2, 'two');
UPDATE lk_full SET v = 'uno' WHERE id = 1;
DELETE FROM lk_full WHERE id = 2;
BEGIN;
INSERT INTO lk_stream SELECT g, repeat('p', 100) FROM generate_series(1, 3000) g;
SAVEPOINT s1;
INSERT INTO lk_stream SELECT g, repeat('q', 100) FROM generate_series(3001, 4000) g;
ROLLBACK TO s1;
INSERT INTO lk_stream SELECT g, repeat('r', 100) FROM generate_series(4001, 5000) g;
COMMIT;
BEGIN;
INSERT INTO lk_stream SELECT g, repeat('x', 100) FROM generate_series(10001, 13000) g;
ROLLBACK;
SELECT 'msg', pg_logical_emit_message(true, 'lk', 'transactional hello');
SELECT 'msg', pg_logical_emit_message(false, 'lk', '\x00ff'::bytea);
SELECT 'origin', pg_replication_origin_session_setup('lk_origin');
BEGIN;
SELECT 'origin', pg_replication_origin_xact_setup('0/ABCDEF', '2024-01-01 00:00:00+00');
INSERT INTO lk_full VALUES (3, 'from origin');
COMMIT;
SELECT 'origin', pg_replication_origin_session_reset();
TRUNCATE lk_full, lk_stream RESTART IDENTITY CASCADE;
BEGIN;
INSERT INTO lk_full VALUES (4, 'prepared');
PREPARE TRANSACTION 'lk_gid_1';
COMMIT PREPARED 'lk_gid_1';
BEGIN;
INSERT INTO lk_full VALUES (5, 'rolled back');
PREPARE TRANSACTION 'lk_gid_2';
ROLLBACK PREPARED 'lk_gid_2';
SQL
)

run_sql() { lk_psql -At -f - <<<"$1"; }  # one transaction per statement
check "setup" run_sql "$setup_sql"
check "changes" run_sql "$changes_sql"
[ $fail = 0 ] || exit 1

# Decoding runs in this session: its settings decide the text output.
peek() { # slot proto extra-options
	lk_psql -At -F ' ' -c "SELECT '$2', lsn, encode(data, 'hex')
		FROM pg_logical_slot_peek_binary_changes('$1', NULL, NULL,
			'proto_version', '$2', 'publication_names', 'lk_pub',
			'messages', 'true' $3)"
}
peek2() { peek lk_slot 2 ", 'streaming', 'on'" >"$capture"; }
peek3() { peek lk_slot2pc 3 ", 'two_phase', 'on', 'streaming', 'on'" >>"$capture"; }
check "peek protocol 2 streaming" peek2
check "peek protocol 3 two-phase" peek3
echo "captured $(wc -l <"$capture") messages" >&2

# Every message decodes, re-encodes identically, and carries what was written.
check "decode" env LAKESYNC_PGOUTPUT_CAPTURE="$capture" "$testbin" --filter 'capture/*' --jobs 1

# pg_recvlogical (walsender path) writes each raw message followed by "\n":
# fine for text plugins, ambiguous for binary pgoutput (a value may contain
# "\n"), so lakesync cannot use it; but its bytes must equal the SQL
# interface's, message for message (with the same pinned settings: the
# walsender formats values with its session's DateStyle, IntervalStyle, …).
recv_same() {
	PGOPTIONS="$LK_PG_PINNED" timeout 60 pg_recvlogical -d postgres --slot lk_slot --start --no-loop \
		-o proto_version=2 -o publication_names=lk_pub -o messages=true \
		-o streaming=on --endpos "$endpos" -f "$work/recv.bin" || return 1
	awk '$1 == 2 { printf "%s0a", $3 }' "$capture" | xxd -r -p >"$work/expected.bin"
	cmp "$work/recv.bin" "$work/expected.bin" || { cmp -l "$work/recv.bin" "$work/expected.bin" | head; xxd -s 600 -l 200 "$work/recv.bin"; xxd -s 600 -l 200 "$work/expected.bin"; return 1; }
}
if command -v pg_recvlogical >/dev/null 2>&1 && command -v xxd >/dev/null 2>&1; then
	endpos=$(lk_psql -At -c 'SELECT pg_current_wal_lsn()')
	check "pg_recvlogical bytes equal the SQL interface's" recv_same
fi

if [ -n "${LK_SAVE_SEEDS:-}" ]; then
	mkdir -p "$LK_SAVE_SEEDS"
	# fuzz input: byte 0 = (proto-1) | in_stream<<2, then the message
	awk '{print $1, $3}' "$capture" | {
		n=0 in=0 seen=
		while read -r proto hex; do
			[ ${#hex} -gt 8192 ] && continue   # keep seeds small
			type=${hex:0:2}
			[ "$type" = 53 ] && in=1       # 'S'
			hdr=$(( (proto - 1) | (in << 2) ))
			[ "$type" = 45 ] && in=0       # 'E'
			key="$proto-$type-$in"
			case " $seen " in *" $key "*) continue ;; esac
			seen="${seen:-} $key"
			printf '%02x%s' "$hdr" "$hex" | xxd -r -p >"$LK_SAVE_SEEDS/capture-$key"
			n=$((n + 1))
		done
		echo "saved $n seeds" >&2
	}
	# sequence-mode seeds (header 0x08 | proto-1): the first 40 messages of
	# each slot, each as Int16 length + bytes
	for proto in 2 3; do
		awk -v p="$proto" '$1 == p && n < 40 && length($3) <= 8192 { printf "%04x%s", length($3) / 2, $3; n++ }' \
			"$capture" | { printf '%02x' $(( 8 | (proto - 1) )); cat; } |
			xxd -r -p >"$LK_SAVE_SEEDS/capture-seq-$proto"
	done
fi

exit $fail
