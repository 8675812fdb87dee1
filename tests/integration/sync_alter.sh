#!/usr/bin/env bash
# sync_alter.sh — schema evolution while streaming (issue 5): an ALTER TABLE
# sequence runs against a table while `lakesync sync` streams it
# continuously, with writes between the steps:
#
#   ADD COLUMN a int                      (no default)
#   ADD COLUMN b text DEFAULT 'dflt'      (non-volatile: attmissingval)
#   DROP COLUMN d
#   ALTER sm TYPE int4, ALTER i TYPE int8  (Delta type widening)
#   ALTER f TYPE float8
#   ALTER n TYPE numeric(12,2)
#   ALTER v TYPE varchar(50)              (no Delta change)
#   RENAME COLUMN r TO label              (column mapping by name)
#   ... and a transaction that inserts, ALTERs and inserts again
#
# a third table gets ADD COLUMN z DEFAULT random() (volatile: PostgreSQL
# rewrites the table and sends no rows): history mode goes on (old rows
# predate the column), mirror mode stops that table with a resync message;
# then an incompatible change on a second table (ALTER x TYPE text), which
# must stop only that table, with the error in the log, while the first
# keeps syncing.  lakesync is stopped with SIGINT, then:
#
#   history  the history replayed in (_commit_lsn, _change_seq) order ==
#            SELECT * FROM t (current columns, typed); per column, the rows
#            written before a change have what they had then (a: null before
#            it existed, d: values before the drop and null after, label:
#            the old r values); the Delta schema has the expected types and
#            column mapping; DuckDB (read_parquet, union_by_name, physical
#            names mapped to logical ones) counts as many rows as `lakesync
#            delta scan`
#   mirror   `lakesync delta scan` == SELECT * FROM t exactly (column names
#            in order, typed values); DuckDB's count of live rows (live
#            files minus deletion vectors) == count(*) of t
#   both     the second table's error names table, column, old and new
#            type; a second run stops it again (the change was not lost:
#            the slot was held) while the first table resumes cleanly
#
# Prints PASS/FAIL/SKIP lines; exits 0 iff no FAIL.  MODES (default
# "history mirror") selects the modes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
name=sync_alter
. "$here/lib.sh"

bin=${LAKESYNC_BIN:-$root/$BUILD/lakesync}
MODES=${MODES:-history mirror}
if [ ! -x "$bin" ]; then
	echo "SKIP $name (no $bin: run make)"
	exit 0
fi
if ! command -v node >/dev/null || [ ! -d "$root/tests/oracle/node_modules/@duckdb" ]; then
	echo "SKIP $name (no node/DuckDB oracle)"
	exit 0
fi
if ! pg_start "wal_sender_timeout = 20s"; then
	echo "SKIP $name (no usable PostgreSQL)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-alter.XXXXXX")
chmod 755 "$work"
lspid=
cleanup() {
	[ -n "$lspid" ] && kill -9 "$lspid" 2>/dev/null
	wait 2>/dev/null
	pg_stop
	[ "${KEEP_WORK:-0}" = 1 ] && echo "work dir $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
fail=0
pass() { echo "PASS $name $1"; }
failed() { echo "FAIL $name $1"; fail=1; }
sql() { lk_psql -tA -c "$1"; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else failed "$1 (got '$2', expected '$3')"; fi; }

# ---- the DuckDB side ------------------------------------------------------------
cat >"$work/check.mjs" <<EOF
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openDb, sqlString } from '$root/tests/oracle/oracle.mjs';

const PINNED = '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex';
const HISTORY = ['_change_type', '_commit_lsn', '_change_seq', '_commit_timestamp', '_xid'];
const qi = (n) => '"' + String(n).replaceAll('"', '""') + '"';

// The table state from its JSON commits: live files (+ DV cardinality),
// schema, configuration.
function deltaState(dir) {
	const logDir = path.join(dir, '_delta_log');
	const names = fs.readdirSync(logDir).filter((n) => /^\d{20}\.json$/.test(n)).sort();
	const files = new Map();
	let meta = null;
	names.forEach((n, i) => {
		if (Number(n.slice(0, 20)) !== i) throw new Error('gap in the Delta log at ' + n);
		for (const line of fs.readFileSync(path.join(logDir, n), 'utf8').split('\n')) {
			if (!line.trim()) continue;
			const a = JSON.parse(line);
			if (a.add) files.set(decodeURIComponent(a.add.path), a.add.deletionVector?.cardinality ?? 0);
			if (a.remove) files.delete(decodeURIComponent(a.remove.path));
			if (a.metaData) meta = a.metaData;
		}
	});
	const schema = JSON.parse(meta.schemaString);
	const mode = meta.configuration?.['delta.columnMapping.mode'] ?? 'none';
	const phys = (f) => (mode === 'name' && f.metadata?.['delta.columnMapping.physicalName']) || f.name;
	return {
		files: [...files.keys()].sort().map((p) => path.join(dir, p)),
		dvRows: [...files.values()].reduce((x, y) => x + y, 0),
		schema, mode, phys, meta,
	};
}

function duckType(t) {
	const m = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
	if (m) return 'DECIMAL(' + m[1] + ',' + m[2] + ')';
	return { string: 'VARCHAR', long: 'BIGINT', integer: 'INTEGER', short: 'SMALLINT',
		float: 'FLOAT', double: 'DOUBLE', boolean: 'BOOLEAN', date: 'DATE',
		timestamp: 'TIMESTAMPTZ', timestamp_ntz: 'TIMESTAMP' }[t];
}

// A value in canonical text: floats as DuckDB's shortest text of the double.
function canon(expr, t) {
	if (t === 'float' || t === 'double') return 'CAST(CAST(' + expr + ' AS DOUBLE) AS VARCHAR)';
	if (t === 'string') return expr;
	return 'CAST(CAST(' + expr + ' AS ' + duckType(t) + ') AS VARCHAR)';
}

// View NAME: every row of the live files (no DV applied), logical names.
async function filesView(db, name, st) {
	const have = new Set();
	if (st.files.length) {
		const cols = await db.all('DESCRIBE SELECT * FROM read_parquet([' + st.files.map(sqlString).join(', ') + '], union_by_name = true)');
		for (const c of cols) have.add(c[0]);
	}
	const sel = st.schema.fields.map((f) => (have.has(st.phys(f)) ? 'CAST(' + qi(st.phys(f)) + ' AS ' + duckType(f.type) + ')' : 'CAST(NULL AS ' + duckType(f.type) + ')') + ' AS ' + qi(f.name));
	if (!st.files.length) {
		await db.run('CREATE OR REPLACE TABLE ' + qi(name) + ' AS SELECT ' + sel.join(', ') + ' WHERE false');
		return;
	}
	await db.run('CREATE OR REPLACE VIEW ' + qi(name) + ' AS SELECT ' + sel.join(', ') + ' FROM read_parquet([' + st.files.map(sqlString).join(', ') + '], union_by_name = true)');
}

// Table pg: SELECT cols FROM table, as canonical text per the Delta types.
async function pgTable(db, table, fields, tmp) {
	const csv = path.join(tmp, 'pg.csv');
	const out = execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
		'COPY (SELECT ' + fields.map((f) => qi(f.name)).join(', ') + ' FROM ' + table + ') TO STDOUT WITH (FORMAT csv, HEADER)'],
		{ env: { ...process.env, PGOPTIONS: (process.env.PGOPTIONS || '') + ' ' + PINNED }, maxBuffer: 1 << 30 });
	fs.writeFileSync(csv, out);
	await db.run('CREATE OR REPLACE TABLE pg_raw AS SELECT * FROM read_csv(' + sqlString(csv) + ', header=true, all_varchar=true, allow_quoted_nulls=false, quote=\'"\', escape=\'"\', delim=\',\', parallel=false)');
	await db.run('CREATE OR REPLACE TABLE pg AS SELECT ' + fields.map((f) => canon(qi(f.name), f.type) + ' AS ' + qi(f.name)).join(', ') + ' FROM pg_raw');
}

async function diff(db, label, a, b) {
	const n = async (q) => Number((await db.all('SELECT count(*) FROM (' + q + ')'))[0][0]);
	const na = await n('SELECT * FROM ' + a), nb = await n('SELECT * FROM ' + b);
	const x = await n('SELECT * FROM ' + a + ' EXCEPT ALL SELECT * FROM ' + b);
	const y = await n('SELECT * FROM ' + b + ' EXCEPT ALL SELECT * FROM ' + a);
	if (na === nb && !x && !y) {
		console.log('PASS ' + label + ' (' + na + ' rows)');
		return true;
	}
	const s = async (p, q) => JSON.stringify(await db.all('SELECT * FROM (SELECT * FROM ' + p + ' EXCEPT ALL SELECT * FROM ' + q + ') LIMIT 4'), (k, v) => (typeof v === 'bigint' ? String(v) : v));
	console.log('FAIL ' + label + ': ' + a + ' ' + na + ' rows, ' + b + ' ' + nb + '; only in ' + a + ': ' + await s(a, b) + '; only in ' + b + ': ' + await s(b, a));
	return false;
}

const [cmd, label, dir, table, extra, defaults] = process.argv.slice(2);
// history: col=value,... — columns added with a default: rows whose latest
// image predates the column hold null in the history (it did not exist
// then) where Postgres shows the default
const dflt = new Map((defaults || '').split(',').filter(Boolean).map((kv) => kv.split('=')));
const db = await openDb();
const tmp = fs.mkdtempSync(path.join(path.dirname(dir), 'chk-'));
let ok = true;
const st = deltaState(dir);
if (cmd === 'history') {
	// replay: the latest image per key (after the last truncate) == Postgres
	await filesView(db, 'h', st);
	const pgCols = execFileSync('psql', ['-X', '-qtA', '-c', "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '" + table + "'::regclass AND attnum > 0 AND NOT attisdropped"]).toString().trim().split(',');
	const fields = pgCols.map((c) => st.schema.fields.find((f) => f.name === c));
	if (fields.some((f) => !f)) {
		console.log('FAIL ' + label + '/replay: a Postgres column is missing from the Delta schema (' + pgCols + ')');
		process.exit(1);
	}
	await pgTable(db, table, fields, tmp);
	await db.run('CREATE OR REPLACE TABLE cur AS WITH ev AS (SELECT *, row_number() OVER (ORDER BY _commit_lsn, _change_seq) AS _ord FROM h), ' +
		'lt AS (SELECT coalesce(max(_ord), 0) AS o FROM ev WHERE _change_type = \'truncate\'), ' +
		'k AS (SELECT ev.*, row_number() OVER (PARTITION BY id ORDER BY _ord DESC) AS _rn FROM ev, lt WHERE ev._ord > lt.o AND _change_type <> \'truncate\') ' +
		'SELECT ' + fields.map((f) => canon(dflt.has(f.name) ? 'coalesce(' + qi(f.name) + ', ' + sqlString(dflt.get(f.name)) + ')' : qi(f.name), f.type) + ' AS ' + qi(f.name)).join(', ') + ' FROM k WHERE _rn = 1 AND _change_type IN (\'insert\', \'update_postimage\')');
	ok = (await diff(db, label + '/replay', 'cur', 'pg')) && ok;
	// DuckDB's count of the files == lakesync delta scan's
	const n = Number((await db.all('SELECT count(*) FROM h'))[0][0]);
	if (String(n) === extra) console.log('PASS ' + label + '/duckdb-count (' + n + ' rows)');
	else { console.log('FAIL ' + label + '/duckdb-count: DuckDB ' + n + ', lakesync delta scan ' + extra); ok = false; }
} else if (cmd === 'mirror') {
	// extra: the Parquet file of lakesync delta scan
	const pgCols = execFileSync('psql', ['-X', '-qtA', '-c', "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '" + table + "'::regclass AND attnum > 0 AND NOT attisdropped"]).toString().trim();
	const names = st.schema.fields.map((f) => f.name).join(',');
	if (names === pgCols) console.log('PASS ' + label + '/columns (' + names + ')');
	else { console.log('FAIL ' + label + '/columns: Delta ' + names + ', Postgres ' + pgCols); ok = false; }
	const fields = st.schema.fields;
	await pgTable(db, table, fields, tmp);
	await db.run('CREATE OR REPLACE TABLE scan AS SELECT ' + fields.map((f) => canon(qi(f.name), f.type) + ' AS ' + qi(f.name)).join(', ') + ' FROM read_parquet(' + sqlString(extra) + ')');
	ok = (await diff(db, label + '/scan', 'scan', 'pg')) && ok;
	await filesView(db, 'h', st);
	const rows = Number((await db.all('SELECT count(*) FROM h'))[0][0]);
	const pgN = Number((await db.all('SELECT count(*) FROM pg'))[0][0]);
	if (rows - st.dvRows === pgN) console.log('PASS ' + label + '/duckdb-count (' + rows + ' rows in ' + st.files.length + ' files, ' + st.dvRows + ' deleted by DVs)');
	else { console.log('FAIL ' + label + '/duckdb-count: DuckDB ' + rows + ' - ' + st.dvRows + ' DV rows != ' + pgN); ok = false; }
} else if (cmd === 'sql') {
	// a query over view h (every history row, logical names); JSON rows
	await filesView(db, 'h', st);
	console.log(JSON.stringify(await db.all(table), (k, v) => (typeof v === 'bigint' ? String(v) : v)));
} else if (cmd === 'schema') {
	console.log(JSON.stringify({ fields: st.schema.fields.map((f) => [f.name, f.type, st.phys(f)]), mode: st.mode, tw: st.meta.configuration?.['delta.enableTypeWidening'] ?? null }));
}
fs.rmSync(tmp, { recursive: true, force: true });
db.close();
process.exit(ok ? 0 : 1);
EOF

# ---- one mode ----------------------------------------------------------------------

# wait until `grep -q PATTERN FILE` or $2 seconds
wait_log() {
	local i=0
	while [ $i -lt $(($2 * 10)) ]; do
		grep -q "$1" "$3" 2>/dev/null && return 0
		kill -0 "$lspid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# rows of `lakesync delta scan` matching a jq-less grep
scan_has() { "$bin" delta scan "$1" 2>/dev/null | grep -c "$2"; }

run_mode() {
	local mode=$1 lake="$work/lake-$1" log="$work/lakesync-$1.log" pipe="p_$1"
	local t="public.t_$mode" t2="public.u_$mode" t3="public.w_$mode" dir dir2
	if [ "$mode" = mirror ]; then
		dir="$lake/public/t_$mode"
		dir2="$lake/public/u_$mode"
	else
		dir="$lake/public/t_${mode}_history"
		dir2="$lake/public/u_${mode}_history"
	fi
	sql "DROP TABLE IF EXISTS $t, $t2, $t3;
		CREATE TABLE $t (id int PRIMARY KEY, sm int2, i int4, f float4, n numeric(10,2),
			v varchar(10), r text, d text);
		CREATE TABLE $t2 (id int PRIMARY KEY, x int);
		CREATE TABLE $t3 (id int PRIMARY KEY);
		INSERT INTO $t3 SELECT generate_series(1, 3);
		INSERT INTO $t SELECT g, g, g * 10, g + 0.1, g * 1.25, 'v' || g, 'r' || g, 'd' || g
			FROM generate_series(1, 20) g;
		INSERT INTO $t2 SELECT g, g FROM generate_series(1, 5) g;" >/dev/null
	"$bin" sync --source "$dsn" --target "$lake" --table "$t" --table "$t2" --table "$t3" \
		--mode "$mode" --pipeline "$pipe" --flush-interval-ms 200 >"$log" 2>&1 &
	lspid=$!
	if ! wait_log "snapshot of $t2: " 60 "$log" || ! wait_log "snapshot of $t: " 60 "$log"; then
		failed "$mode: lakesync did not take its snapshots"
		sed -n '1,20p' "$log" >&2
		kill -9 "$lspid" 2>/dev/null
		wait "$lspid" 2>/dev/null
		lspid=
		return
	fi
	sleep 0.5
	# writes before any change
	sql "UPDATE $t SET v = 'u' || id WHERE id <= 3; DELETE FROM $t WHERE id = 20;
		INSERT INTO $t VALUES (21, 21, 210, 21.5, 21.25, 'v21', 'r21', 'd21');" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t ADD COLUMN a int" >/dev/null
	sql "INSERT INTO $t VALUES (22, 22, 220, 22.5, 22.25, 'v22', 'r22', 'd22', 2200);
		UPDATE $t SET a = id * 100 WHERE id IN (1, 2);" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t ADD COLUMN b text DEFAULT 'dflt'" >/dev/null
	sql "INSERT INTO $t VALUES (23, 23, 230, 23.5, 23.25, 'v23', 'r23', 'd23', 2300, 'b23');
		INSERT INTO $t (id, sm, i, f, n, v, r, d) VALUES (24, 24, 240, 24.5, 24.25, 'v24', 'r24', 'd24');
		UPDATE $t SET b = 'set' WHERE id = 4;" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t DROP COLUMN d" >/dev/null
	sql "INSERT INTO $t VALUES (25, 25, 250, 25.5, 25.25, 'v25', 'r25', 2500, 'b25');
		UPDATE $t SET a = 5 WHERE id = 5;" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t ALTER COLUMN sm TYPE int4, ALTER COLUMN i TYPE int8" >/dev/null
	sql "INSERT INTO $t VALUES (26, 100000, 5000000000, 26.5, 26.25, 'v26', 'r26', 2600, 'b26');
		UPDATE $t SET i = i + 4000000000 WHERE id = 6;" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t ALTER COLUMN f TYPE float8" >/dev/null
	sql "INSERT INTO $t VALUES (27, 27, 27, 0.1234567890123, 27.25, 'v27', 'r27', 2700, 'b27');" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t ALTER COLUMN n TYPE numeric(12,2)" >/dev/null
	sql "INSERT INTO $t VALUES (28, 28, 28, 28.5, 9999999999.99, 'v28', 'r28', 2800, 'b28');
		UPDATE $t SET n = n + 1000000000 WHERE id = 7;" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t ALTER COLUMN v TYPE varchar(50)" >/dev/null
	sql "INSERT INTO $t VALUES (29, 29, 29, 29.5, 29.25, 'a value longer than ten', 'r29', 2900, 'b29');" >/dev/null
	sleep 0.3
	sql "ALTER TABLE $t RENAME COLUMN r TO label" >/dev/null
	sql "INSERT INTO $t VALUES (30, 30, 30, 30.5, 30.25, 'v30', 'label30', 3000, 'b30');
		UPDATE $t SET label = 'relabelled' WHERE id = 8;" >/dev/null
	sleep 0.3
	# one transaction: rows, a change, rows (history: the rows before are
	# held back and converted; mirror: refused, so only in history mode)
	if [ "$mode" = history ]; then
		sql "BEGIN; INSERT INTO $t VALUES (31, 31, 31, 31.5, 31.25, 'v31', 'l31', 3100, 'b31');
			ALTER TABLE $t ADD COLUMN c int;
			INSERT INTO $t VALUES (32, 32, 32, 32.5, 32.25, 'v32', 'l32', 3200, 'b32', 32); COMMIT;" >/dev/null
	else
		sql "ALTER TABLE $t ADD COLUMN c int" >/dev/null
		sql "INSERT INTO $t VALUES (31, 31, 31, 31.5, 31.25, 'v31', 'l31', 3100, 'b31', NULL),
			(32, 32, 32, 32.5, 32.25, 'v32', 'l32', 3200, 'b32', 32);" >/dev/null
	fi
	sleep 0.3
	# a volatile default: PostgreSQL rewrites the table and sends no rows
	# (history: the old rows predate the column; mirror: unknowable)
	sql "ALTER TABLE $t3 ADD COLUMN z float8 DEFAULT random()" >/dev/null
	sql "INSERT INTO $t3 VALUES (4, 0.5)" >/dev/null
	sleep 0.3
	# the incompatible change on the second table
	sql "INSERT INTO $t2 VALUES (6, 6); ALTER TABLE $t2 ALTER COLUMN x TYPE text;" >/dev/null
	sql "INSERT INTO $t2 VALUES (7, 'seven')" >/dev/null
	local lsn_after
	lsn_after=$(sql "SELECT pg_current_wal_insert_lsn()")
	sleep 0.3
	# the first table keeps going
	sql "INSERT INTO $t (id, sm, i, f, n, v, label, a, b, c) VALUES (33, 33, 33, 33.5, 33.25, 'v33', 'l33', 3300, 'b33', 33);
		DELETE FROM $t WHERE id = 9; UPDATE $t SET c = 1 WHERE id = 10;" >/dev/null
	sql "INSERT INTO $t (id) VALUES (99)" >/dev/null
	local i=0
	while [ $i -lt 150 ] && [ "$(scan_has "$dir" '"id":99,')" = 0 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -INT "$lspid" 2>/dev/null
	wait "$lspid" 2>/dev/null
	lspid=
	if grep -q "schema change without a source connection" "$log"; then
		failed "$mode: lakesync ran schema changes without the catalog (sy_table.source_dsn not set by capture)"
	fi
	if grep -q "schema change applied" "$log"; then
		pass "$mode: schema changes applied while streaming ($(grep -c 'schema change applied' "$log") Relation changes)"
	else
		failed "$mode: no schema change applied"
	fi
	if grep -q "table $t stopped" "$log"; then
		failed "$mode: $t stopped: $(grep "table $t stopped" "$log" | head -1)"
		return
	fi
	local t3err
	t3err=$(grep "table $t3 stopped" "$log" | head -1)
	if [ "$mode" = mirror ]; then
		case "$t3err" in
		*"column \"z\" was added with a default the catalog does not record as a constant"*"resync"*)
			pass "$mode: a volatile default stops $t3: ${t3err#*stopped: }" ;;
		*) failed "$mode: no clear error for the volatile default of $t3 (got: '$t3err')" ;;
		esac
	else
		expect "$mode: a volatile default is fine in history mode ($t3 not stopped)" "$t3err" ""
		expect "$mode: $t3 row after the volatile default" \
			"$(scan_has "$lake/public/w_${mode}_history" '"id":4,"z":0.5,')" 1
	fi
	local t2err
	t2err=$(grep "table $t2 stopped" "$log" | head -1)
	case "$t2err" in
	*"the type of column \"x\" changed from integer to text"*"table \"$t2\""*)
		pass "$mode: incompatible change stops only $t2: ${t2err#*stopped: }" ;;
	*) failed "$mode: no clear error for $t2 in the log (got: '$t2err')" ;;
	esac
	[ "$mode" = history ] &&
		expect "$mode: $t2 rows before the change committed" "$(scan_has "$dir2" '"id":6,')" 1
	expect "$mode: $t2 row after the change not written" "$(scan_has "$dir2" '"id":7,')" 0
	local conf
	conf=$(sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'lakesync_$pipe'")
	expect "$mode: the slot is held below $t2's change (confirmed $conf, change before $lsn_after)" \
		"$(sql "SELECT '$conf'::pg_lsn < '$lsn_after'::pg_lsn")" t

	# ---- the Delta side
	local schema
	schema=$(node "$work/check.mjs" schema x "$dir" x)
	if [ "$mode" = history ]; then
		expect "history: Delta schema (name, type, physical name)" \
			"$(echo "$schema" | sed 's/"col-[0-9a-f-]*"/"col-*"/g')" \
			'{"fields":[["id","integer","id"],["sm","integer","sm"],["i","long","i"],["f","double","f"],["n","decimal(12,2)","n"],["v","string","v"],["label","string","r"],["d","string","d"],["a","integer","a"],["b","string","b"],["c","integer","col-*"],["_change_type","string","_change_type"],["_commit_lsn","long","_commit_lsn"],["_change_seq","long","_change_seq"],["_commit_timestamp","timestamp","_commit_timestamp"],["_xid","long","_xid"]],"mode":"name","tw":"true"}'
		local n
		n=$("$bin" delta scan "$dir" | wc -l)
		node "$work/check.mjs" history "history" "$dir" "$t" "$n" b=dflt || fail=1
		# per column: what the rows written before/after each change hold
		local q
		q=$(node "$work/check.mjs" sql x "$dir" "SELECT
			(SELECT count(*) FROM h WHERE id IN (21, 22) AND _change_type = 'insert' AND d IS NOT NULL),
			(SELECT count(*) FROM h WHERE id >= 25 AND d IS NOT NULL),
			(SELECT count(*) FROM h WHERE id = 21 AND a IS NOT NULL),
			(SELECT a FROM h WHERE id = 22),
			(SELECT count(*) FROM h WHERE id = 24 AND b = 'dflt'),
			(SELECT count(*) FROM h WHERE id <= 21 AND _change_type = 'insert' AND b IS NOT NULL),
			(SELECT string_agg(label, ',' ORDER BY id) FROM h WHERE id IN (11, 12) AND _change_type = 'insert'),
			(SELECT label FROM h WHERE id = 8 AND _change_type = 'update_postimage'),
			(SELECT CAST(i AS VARCHAR) FROM h WHERE id = 26),
			(SELECT CAST(f AS VARCHAR) FROM h WHERE id = 1 AND _change_type = 'insert'),
			(SELECT CAST(n AS VARCHAR) FROM h WHERE id = 28),
			(SELECT string_agg(CAST(c AS VARCHAR), ',' ORDER BY id) FROM h WHERE id IN (31, 32)),
			(SELECT string_agg(label, ',' ORDER BY id) FROM h WHERE id IN (31, 32)),
			(SELECT count(*) FROM h WHERE _change_type = 'delete' AND id = 9)" x)
		expect "history: per-column values before/after each change" "$q" \
			'[["2","0","0",2200,"1","0","r11,r12","relabelled","5000000000","1.100000023841858","9999999999.99","32","l31,l32","1"]]'
	else
		"$bin" delta scan "$dir" --output "$work/scan-$mode.parquet" >/dev/null 2>&1 ||
			failed "mirror: lakesync delta scan"
		node "$work/check.mjs" mirror "mirror" "$dir" "$t" "$work/scan-$mode.parquet" || fail=1
		# the mirror oracle (independent log replay with DV decoding); its
		# change-feed check nets full rows over every version, which a
		# schema change breaks by design (old versions are read in the
		# current schema), so it is reported, not counted
		if [ -f "$root/tests/oracle/mirror_check.mjs" ]; then
			LAKESYNC_BIN="$bin" node "$root/tests/oracle/mirror_check.mjs" compare "mirror-oracle" \
				"$dir" "$t" id 2>&1 | while IFS= read -r line; do
				case "$line" in
				"FAIL mirror-oracle/cdf"*) echo "SKIP $name ${line#FAIL } (not counted: full-row change feed across schema changes)" | cut -c1-300 ;;
				FAIL*) echo "$line" | cut -c1-600; echo x >>"$work/oracle-failed" ;;
				PASS* | SKIP*) echo "$line" | cut -c1-300 ;;
				esac
			done
			[ -f "$work/oracle-failed" ] && fail=1
		fi
		expect "mirror: Delta schema (name, type, physical name of kept columns)" \
			"$(echo "$schema" | sed 's/"col-[0-9a-f-]*"/"col-*"/g')" \
			'{"fields":[["id","integer","id"],["sm","integer","sm"],["i","long","i"],["f","double","f"],["n","decimal(12,2)","n"],["v","string","v"],["label","string","r"],["a","integer","a"],["b","string","b"],["c","integer","col-*"]],"mode":"name","tw":"true"}'
	fi

	# ---- a second run: t resumes, t2 stops again on the same change
	local log2="$work/lakesync-$mode-2.log"
	sql "INSERT INTO $t (id, label) VALUES (100, 'second run')" >/dev/null
	"$bin" sync --source "$dsn" --target "$lake" --table "$t" --table "$t2" --mode "$mode" \
		--pipeline "$pipe" --until-caught-up >"$log2" 2>&1
	if grep -q "table $t2 stopped: the type of column \"x\" changed from integer.* to text" "$log2"; then
		pass "$mode: second run stops $t2 again (the change was kept)"
	else
		failed "$mode: second run did not stop $t2 again: $(grep -i 'stopped\|error' "$log2" | head -3)"
	fi
	expect "$mode: $t2 rows before the change are in Delta after the second run" \
		"$(scan_has "$dir2" '"id":6,')" 1
	expect "$mode: $t2 row after the change still not written" "$(scan_has "$dir2" '"id":7,')" 0
	if grep -q "table $t stopped" "$log2"; then
		failed "$mode: second run stopped $t: $(grep "table $t stopped" "$log2" | head -1)"
	else
		expect "$mode: second run resumed $t" "$(scan_has "$dir" '"id":100,')" 1
	fi
	if [ "$mode" = history ]; then
		node "$work/check.mjs" history "history-rerun" "$dir" "$t" "$("$bin" delta scan "$dir" | wc -l)" b=dflt || fail=1
	else
		"$bin" delta scan "$dir" --output "$work/scan2-$mode.parquet" >/dev/null 2>&1
		node "$work/check.mjs" mirror "mirror-rerun" "$dir" "$t" "$work/scan2-$mode.parquet" || fail=1
	fi
}

for mode in $MODES; do
	if [ "$mode" = mirror ]; then
		"$bin" sync --source "$dsn" --target "$work/probe" --table public.nope --mode mirror \
			--until-caught-up >"$work/probe.log" 2>&1
		if [ $? -eq 4 ] && grep -qi "mirror" "$work/probe.log" && ! grep -qi "not found\|does not exist" "$work/probe.log"; then
			echo "SKIP $name mirror (lakesync sync --mode mirror is not available yet: $(head -1 "$work/probe.log"))"
			continue
		fi
	fi
	run_mode "$mode"
done
[ $fail = 0 ]
